//! The extension table behind `guess_type`: CPython 3.11's
//! `SimpleHTTPRequestHandler.extensions_map` plus the strict defaults of its
//! `mimetypes` module (`_types_map_default`), so a file gets the type
//! `python -m http.server` gives it on a machine without `/etc/mime.types`.

use std::path::Path;

/// The type of a file whose extension is not in the table (CPython's
/// `guess_type` fallback).
pub(crate) const FALLBACK: &str = "application/octet-stream";

/// `(extension without the dot, type)`. Looked up as written, then
/// lowercased, like CPython's `guess_type`.
///
/// Differences from CPython 3.11, all toward what browsers expect today:
/// `.js` and `.mjs` are `text/javascript` (RFC 9239; CPython 3.12 made the
/// same change), and the web formats CPython only learns from
/// `/etc/mime.types` (`.webp`, `.woff`, `.woff2`, `.ttf`, `.otf`, `.md`) are
/// built in.
const TABLE: &[(&str, &str)] = &[
    // SimpleHTTPRequestHandler.extensions_map: compressed files are served
    // as themselves, not as their content type plus a Content-Encoding.
    ("gz", "application/gzip"),
    ("Z", "application/octet-stream"),
    ("bz2", "application/x-bzip2"),
    ("xz", "application/x-xz"),
    // mimetypes._types_map_default
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("webmanifest", "application/manifest+json"),
    ("doc", "application/msword"),
    ("dot", "application/msword"),
    ("wiz", "application/msword"),
    ("nq", "application/n-quads"),
    ("nt", "application/n-triples"),
    ("bin", "application/octet-stream"),
    ("a", "application/octet-stream"),
    ("dll", "application/octet-stream"),
    ("exe", "application/octet-stream"),
    ("o", "application/octet-stream"),
    ("obj", "application/octet-stream"),
    ("so", "application/octet-stream"),
    ("oda", "application/oda"),
    ("pdf", "application/pdf"),
    ("p7c", "application/pkcs7-mime"),
    ("ps", "application/postscript"),
    ("ai", "application/postscript"),
    ("eps", "application/postscript"),
    ("trig", "application/trig"),
    ("m3u", "application/vnd.apple.mpegurl"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("xls", "application/vnd.ms-excel"),
    ("xlb", "application/vnd.ms-excel"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pot", "application/vnd.ms-powerpoint"),
    ("ppa", "application/vnd.ms-powerpoint"),
    ("pps", "application/vnd.ms-powerpoint"),
    ("pwz", "application/vnd.ms-powerpoint"),
    ("wasm", "application/wasm"),
    ("bcpio", "application/x-bcpio"),
    ("cpio", "application/x-cpio"),
    ("csh", "application/x-csh"),
    ("dvi", "application/x-dvi"),
    ("gtar", "application/x-gtar"),
    ("hdf", "application/x-hdf"),
    ("h5", "application/x-hdf5"),
    ("latex", "application/x-latex"),
    ("mif", "application/x-mif"),
    ("cdf", "application/x-netcdf"),
    ("nc", "application/x-netcdf"),
    ("p12", "application/x-pkcs12"),
    ("pfx", "application/x-pkcs12"),
    ("ram", "application/x-pn-realaudio"),
    ("pyc", "application/x-python-code"),
    ("pyo", "application/x-python-code"),
    ("sh", "application/x-sh"),
    ("shar", "application/x-shar"),
    ("swf", "application/x-shockwave-flash"),
    ("sv4cpio", "application/x-sv4cpio"),
    ("sv4crc", "application/x-sv4crc"),
    ("tar", "application/x-tar"),
    ("tcl", "application/x-tcl"),
    ("tex", "application/x-tex"),
    ("texi", "application/x-texinfo"),
    ("texinfo", "application/x-texinfo"),
    ("roff", "application/x-troff"),
    ("t", "application/x-troff"),
    ("tr", "application/x-troff"),
    ("man", "application/x-troff-man"),
    ("me", "application/x-troff-me"),
    ("ms", "application/x-troff-ms"),
    ("ustar", "application/x-ustar"),
    ("src", "application/x-wais-source"),
    ("xsl", "application/xml"),
    ("rdf", "application/xml"),
    ("wsdl", "application/xml"),
    ("xpdl", "application/xml"),
    ("zip", "application/zip"),
    ("3gp", "audio/3gpp"),
    ("3gpp", "audio/3gpp"),
    ("3g2", "audio/3gpp2"),
    ("3gpp2", "audio/3gpp2"),
    ("aac", "audio/aac"),
    ("adts", "audio/aac"),
    ("loas", "audio/aac"),
    ("ass", "audio/aac"),
    ("au", "audio/basic"),
    ("snd", "audio/basic"),
    ("mp3", "audio/mpeg"),
    ("mp2", "audio/mpeg"),
    ("opus", "audio/opus"),
    ("aif", "audio/x-aiff"),
    ("aifc", "audio/x-aiff"),
    ("aiff", "audio/x-aiff"),
    ("ra", "audio/x-pn-realaudio"),
    ("wav", "audio/x-wav"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("gif", "image/gif"),
    ("ief", "image/ief"),
    ("jpg", "image/jpeg"),
    ("jpe", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("tiff", "image/tiff"),
    ("tif", "image/tiff"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ras", "image/x-cmu-raster"),
    ("pnm", "image/x-portable-anymap"),
    ("pbm", "image/x-portable-bitmap"),
    ("pgm", "image/x-portable-graymap"),
    ("ppm", "image/x-portable-pixmap"),
    ("rgb", "image/x-rgb"),
    ("xbm", "image/x-xbitmap"),
    ("xpm", "image/x-xpixmap"),
    ("xwd", "image/x-xwindowdump"),
    ("eml", "message/rfc822"),
    ("mht", "message/rfc822"),
    ("mhtml", "message/rfc822"),
    ("nws", "message/rfc822"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("n3", "text/n3"),
    ("txt", "text/plain"),
    ("bat", "text/plain"),
    ("c", "text/plain"),
    ("h", "text/plain"),
    ("ksh", "text/plain"),
    ("pl", "text/plain"),
    ("srt", "text/plain"),
    ("rtx", "text/richtext"),
    ("tsv", "text/tab-separated-values"),
    ("vtt", "text/vtt"),
    ("py", "text/x-python"),
    ("etx", "text/x-setext"),
    ("sgm", "text/x-sgml"),
    ("sgml", "text/x-sgml"),
    ("vcf", "text/x-vcard"),
    ("xml", "text/xml"),
    ("mp4", "video/mp4"),
    ("mpeg", "video/mpeg"),
    ("m1v", "video/mpeg"),
    ("mpa", "video/mpeg"),
    ("mpe", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("mov", "video/quicktime"),
    ("qt", "video/quicktime"),
    ("webm", "video/webm"),
    ("avi", "video/x-msvideo"),
    ("movie", "video/x-sgi-movie"),
    // Common on the web, in /etc/mime.types but not in CPython's defaults.
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("md", "text/markdown"),
];

/// CPython's `guess_type(path)`: the content type for a file name, from
/// its extension (the part after the last `.` of the last component; a
/// leading dot does not start an extension, so `.bashrc` has none).
/// Unknown extensions give `application/octet-stream`.
///
/// ```
/// use basehttp::guess_type;
/// assert_eq!(guess_type("index.html"), "text/html");
/// assert_eq!(guess_type("photo.JPG"), "image/jpeg");
/// assert_eq!(guess_type("backup.tar.gz"), "application/gzip");
/// assert_eq!(guess_type("README"), "application/octet-stream");
/// ```
pub fn guess_type(path: impl AsRef<Path>) -> &'static str {
    lookup(TABLE, path.as_ref()).unwrap_or(FALLBACK)
}

/// Looks the extension of `path` up in `table`, as written, then lowercased.
pub(crate) fn lookup<'t, S: AsRef<str>>(table: &'t [(S, S)], path: &Path) -> Option<&'t str> {
    let ext = path.extension()?.to_str()?;
    let find = |e: &str| table.iter().find(|(k, _)| k.as_ref() == e).map(|(_, v)| v.as_ref());
    find(ext).or_else(|| find(&ext.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpython_types() {
        assert_eq!(guess_type("a/b/style.css"), "text/css");
        assert_eq!(guess_type("x.Z"), "application/octet-stream");
        assert_eq!(guess_type("x.PNG"), "image/png");
        assert_eq!(guess_type("x.tar.bz2"), "application/x-bzip2");
        assert_eq!(guess_type(".bashrc"), FALLBACK);
        assert_eq!(guess_type("noext."), FALLBACK);
    }

    #[test]
    fn table_keys_are_unique() {
        for (i, (k, _)) in TABLE.iter().enumerate() {
            assert!(!TABLE[i + 1..].iter().any(|(o, _)| o == k), "{k}");
        }
    }
}
