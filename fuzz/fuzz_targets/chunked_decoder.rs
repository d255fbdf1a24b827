//! The chunked decoder on arbitrary bytes, fed in steps of a size derived
//! from the input into an output buffer of a size derived from it:
//! - it never panics and never reports `consumed > input.len()` or
//!   `produced > out.len()`, nor more body bytes than wire bytes;
//! - it always makes progress (a call on non-empty input with room in `out`
//!   consumes or produces something) until it is done or fails;
//! - fed in pieces, it gives the same body, the same consumed count and the
//!   same error as fed the whole input at once (on error: the same body
//!   bytes delivered before it; an `Err` reports no consumed count);
//! - when it reports done, decoding the consumed prefix again gives the same
//!   body and consumes exactly that prefix.
#![no_main]

use basehttp::ChunkedDecoder;
use libfuzzer_sys::fuzz_target;

/// The body and the bytes consumed once done; on error the body delivered
/// before it and the error (`UnexpectedEof` when the input ended first).
type Outcome = Result<(Vec<u8>, usize), (Vec<u8>, String)>;

fn decode(wire: &[u8], step: usize, cap: usize) -> Outcome {
    let mut d = ChunkedDecoder::new();
    let (mut used, mut body, mut out) = (0, Vec::new(), vec![0u8; cap]);
    let mut avail = step.min(wire.len());
    loop {
        if d.is_done() {
            assert!(body.len() <= used, "more body bytes than wire bytes");
            return Ok((body, used));
        }
        let input = &wire[used..avail];
        let (c, p) = match d.decode(input, &mut out) {
            Ok(progress) => progress,
            Err(e) => return Err((body, format!("{:?}: {e}", e.kind()))),
        };
        assert!(c <= input.len(), "consumed {c} of an input of {}", input.len());
        assert!(p <= out.len(), "produced {p} into an output of {}", out.len());
        assert!(
            c > 0 || p > 0 || input.is_empty() || d.is_done(),
            "no progress on {} bytes of input with {} bytes of room",
            input.len(),
            out.len()
        );
        used += c;
        body.extend_from_slice(&out[..p]);
        if used == avail && !d.is_done() {
            if avail == wire.len() {
                return Err((body, "UnexpectedEof".to_owned()));
            }
            avail = (avail + step).min(wire.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let h = data.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let step = 1 + (h & 0xffff) as usize % data.len().max(1);
    let cap = 1 + (h >> 16) as usize % 97;
    let pieces = decode(data, step, cap);
    let whole = decode(data, data.len(), data.len() + 1);
    assert_eq!(pieces, whole, "in steps of {step} into {cap} bytes vs in one piece");
    if let Ok((body, used)) = &whole {
        assert!(*used <= data.len());
        let again = decode(&data[..*used], *used, *used + 1);
        assert_eq!(again.as_ref(), Ok(&(body.clone(), *used)), "re-decoding the consumed prefix");
    }
});
