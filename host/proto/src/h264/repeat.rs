//! The repeat picture: what the host sends instead of encoding an unchanged screen again.
//!
//! A browser asks for a keyframe when no frame has arrived for 3 × the offer's `rtx-time`, so a
//! static desktop still sends a frame every 500 ms (docs/benchmarks.md, "Keyframe requests on a
//! static desktop"). x264 spends ~6 ms of CPU on each at 1080p to find that nothing changed and
//! writes 8 bytes. The same 8 bytes can be written here without looking at a pixel: one P slice,
//! every macroblock skipped (`mb_skip_run` = the picture's macroblock count), whose motion
//! vectors all predict to zero, so the decoder shows an exact copy of the reference picture.
//!
//! The picture is a *non-reference* one (`nal_ref_idc` 0), so the encoder's own numbering is
//! untouched: its `frame_num` is the previous reference picture's plus one (§7.4.3), the same
//! number the encoder's next picture will carry, which the standard allows for a non-reference
//! picture followed by a reference one. [`StreamState`] follows the encoder's output to know
//! that number and the parameter sets, and refuses (an [`Unrepeatable`]) wherever the picture
//! could not be written correctly:
//! - CABAC streams (x264's ultrafast preset is CAVLC; CABAC would need an arithmetic coder);
//! - `pic_order_cnt_type` 0 or 1 (the order count would have to fit between two pictures not
//!   yet known; x264 without B-frames uses type 2, where it follows from `frame_num`);
//! - right after a non-reference picture: with type 2, two non-reference pictures in a row
//!   would share an order count, which §7.4.2.1.1 forbids, so every other repeat is left to the
//!   encoder;
//! - interlaced or separate-colour-plane streams, and before the first picture.
//!
//! The encoder's pictures must not use memory-management operation 5 (which resets
//! `frame_num`); slice headers are not read that far. x264 never emits it.

use std::collections::BTreeMap;

use super::bits::{BitWriter, escape};
use super::params::{Pps, SliceStart, Sps};
use super::{nal_starts, nal_type, nal_unit};

/// Why no repeat picture can be written now; the caller encodes the frame instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unrepeatable {
    #[error("no picture seen yet")]
    NoPicture,
    #[error("the last picture was not a reference picture")]
    AfterNonReference,
    #[error("its parameter sets were not seen or did not parse")]
    MissingParameterSets,
    #[error("CABAC stream")]
    Cabac,
    #[error("pic_order_cnt_type {0}")]
    PicOrderCntType(u32),
    #[error("interlaced stream")]
    Interlaced,
    #[error("separate colour planes")]
    SeparateColourPlanes,
}

/// The last picture of the stream, from its first slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Picture {
    reference: bool,
    frame_num: u32,
    pps_id: u32,
}

/// Follows an encoder's H.264 output (Annex B access units) closely enough to write a repeat
/// picture that continues it.
#[derive(Debug, Clone, Default)]
pub struct StreamState {
    sps: BTreeMap<u32, Sps>,
    pps: BTreeMap<u32, Pps>,
    last: Option<Picture>,
}

impl StreamState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one access unit the decoder will receive (the encoder's or a repeat picture).
    /// A part that does not parse makes the next repeat refused, never an error here.
    pub fn observe(&mut self, access_unit: &[u8]) {
        let mut starts = nal_starts(access_unit).peekable();
        while let Some(start) = starts.next() {
            let Some(&header) = access_unit.get(start) else {
                continue;
            };
            let reference = header & 0x60 != 0;
            match header & 0x1f {
                kind @ (nal_type::SPS | nal_type::PPS) => {
                    let unit = nal_unit(access_unit, start, starts.peek().copied());
                    let payload = unit.get(1..).unwrap_or_default();
                    let parsed = if kind == nal_type::SPS {
                        Sps::parse(payload).map(|sps| {
                            self.sps.insert(sps.id, sps);
                        })
                    } else {
                        Pps::parse(payload).map(|pps| {
                            self.pps.insert(pps.id, pps);
                        })
                    };
                    // Its id is unknown, so any set kept may be stale: none is trusted until
                    // the encoder sends them again (x264 does with every keyframe).
                    if parsed.is_err() {
                        *self = Self::default();
                    }
                }
                nal_type::SLICE | nal_type::IDR => {
                    // Only the slice header's first bytes are read, so the slice's end (the
                    // rest of the picture) is never searched for.
                    let payload = access_unit.get(start + 1..).unwrap_or_default();
                    let sps_of = |pps_id| {
                        let pps = self.pps.get(&pps_id)?;
                        self.sps.get(&pps.sps_id).copied()
                    };
                    self.last = match SliceStart::parse(payload, sps_of) {
                        Ok(s) => Some(Picture {
                            reference,
                            frame_num: s.frame_num,
                            pps_id: s.pps_id,
                        }),
                        Err(_) => None,
                    };
                    // A picture's first slice says all that is followed here; its later slices
                    // (x264's sliced threads) would only repeat it.
                    return;
                }
                _ => {}
            }
        }
    }

    /// The repeat picture that may follow the stream now, as an Annex B access unit (a 4-byte
    /// start code and one slice NAL unit), or why none may.
    pub fn repeat_picture(&self) -> Result<Vec<u8>, Unrepeatable> {
        let last = self.last.ok_or(Unrepeatable::NoPicture)?;
        if !last.reference {
            return Err(Unrepeatable::AfterNonReference);
        }
        let pps = self
            .pps
            .get(&last.pps_id)
            .ok_or(Unrepeatable::MissingParameterSets)?;
        let sps = self
            .sps
            .get(&pps.sps_id)
            .ok_or(Unrepeatable::MissingParameterSets)?;
        if pps.entropy_coding_mode {
            return Err(Unrepeatable::Cabac);
        }
        if sps.pic_order_cnt_type != 2 {
            return Err(Unrepeatable::PicOrderCntType(sps.pic_order_cnt_type));
        }
        if !sps.frame_mbs_only {
            return Err(Unrepeatable::Interlaced);
        }
        if sps.separate_colour_plane {
            return Err(Unrepeatable::SeparateColourPlanes);
        }
        Ok(write_repeat(sps, pps, last.frame_num))
    }
}

/// One slice covering the picture (§7.3.3, §7.3.4), for a CAVLC, frame-only, POC type 2 stream
/// whose last reference picture had `prev_ref_frame_num`.
fn write_repeat(sps: &Sps, pps: &Pps, prev_ref_frame_num: u32) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.ue(0); // first_mb_in_slice
    w.ue(5); // slice_type: P, as every slice of this picture
    w.ue(pps.id);
    let modulo = 1u64 << sps.log2_max_frame_num;
    let frame_num = ((u64::from(prev_ref_frame_num) + 1) % modulo) as u32;
    w.bits(sps.log2_max_frame_num, frame_num);
    // Frame-only, not IDR, POC type 2: no field flags, idr_pic_id or order-count fields.
    if pps.redundant_pic_cnt_present {
        w.ue(0);
    }
    w.flag(false); // num_ref_idx_active_override_flag: the PPS default
    w.flag(false); // ref_pic_list_modification_flag_l0: index 0 is the last reference picture
    if pps.weighted_pred {
        // Default weights, written out: denominators, then "no explicit weight" per reference.
        let chroma = sps.chroma_array_type() != 0;
        w.ue(0);
        if chroma {
            w.ue(0);
        }
        for _ in 0..pps.num_ref_idx_l0_default_active {
            w.flag(false);
            if chroma {
                w.flag(false);
            }
        }
    }
    // nal_ref_idc 0: no dec_ref_pic_marking(). CAVLC: no cabac_init_idc.
    w.se(0); // slice_qp_delta: no residual, so the QP is never used
    if pps.deblocking_filter_control_present {
        // Off: skipped blocks with equal motion have no edges to filter anyway.
        w.ue(1);
    }
    w.ue(sps.frame_mbs()); // mb_skip_run: every macroblock
    let rbsp = w.finish();
    let mut au = vec![0, 0, 0, 1, nal_type::SLICE];
    au.extend(escape(&rbsp));
    au
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::bits::{BitReader, unescape};

    /// x264's output at 64×48 with the host's settings: SPS, PPS, IDR picture, then a P picture
    /// (nal_ref_idc 2, frame_num 1). The IDR slice is cut short: only its header is read.
    fn x264_start() -> Vec<u8> {
        let mut s = vec![0, 0, 0, 1, 0x67];
        s.extend(crate::h264::params::tests::SPS_64X48);
        s.extend([0, 0, 0, 1, 0x68]);
        s.extend(crate::h264::params::tests::PPS);
        s.extend([0, 0, 1, 0x65, 0x88, 0x84, 0x06, 0xa8, 0x93, 0x0a]);
        s
    }
    const X264_P1: [u8; 10] = [0, 0, 0, 1, 0x41, 0x9a, 0x20, 0x1a, 0xa1, 0xb0];
    const X264_P2: [u8; 10] = [0, 0, 0, 1, 0x41, 0x9a, 0x40, 0x1a, 0xa1, 0xb0];

    #[test]
    fn the_repeat_picture_after_x264s_first_p_picture() {
        let mut st = StreamState::new();
        assert_eq!(st.repeat_picture(), Err(Unrepeatable::NoPicture));
        st.observe(&x264_start());
        st.observe(&X264_P1);
        // Derived by hand from §7.3.3 and §7.3.4; x264's own P picture above is the same but
        // for nal_ref_idc, its dec_ref_pic_marking bit and its slice_qp_delta:
        // first_mb 0 `1`, slice_type 5 `00110`, pps 0 `1`, frame_num 2 `0010`, override `0`,
        // reordering `0`, qp delta 0 `1`, deblocking off `010`, mb_skip_run 12 `0001101`, stop
        // bit `1`.
        let repeat = st.repeat_picture().unwrap();
        assert_eq!(repeat, [0, 0, 0, 1, 0x01, 0x9a, 0x45, 0x0d, 0x80]);
        // It does not count as a reference: a second one in a row is refused.
        st.observe(&repeat);
        assert_eq!(st.repeat_picture(), Err(Unrepeatable::AfterNonReference));
        // x264's next picture carries frame_num 2 as well, and after it a repeat may follow.
        st.observe(&X264_P2);
        let next = st.repeat_picture().unwrap();
        let rbsp = unescape(&next[5..]);
        let mut r = BitReader::new(&rbsp);
        assert_eq!(r.ue().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 5);
        assert_eq!(r.ue().unwrap(), 0);
        assert_eq!(r.bits(4).unwrap(), 3, "frame_num");
    }

    #[test]
    fn frame_num_wraps_and_every_macroblock_is_skipped_at_1080p() {
        let sps = Sps::parse(&crate::h264::params::tests::SPS_1080P).unwrap();
        let pps = Pps::parse(&crate::h264::params::tests::PPS).unwrap();
        let max = (1u32 << sps.log2_max_frame_num) - 1;
        let au = write_repeat(&sps, &pps, max);
        let rbsp = unescape(&au[5..]);
        let mut r = BitReader::new(&rbsp);
        let (first_mb, slice_type, pps_id) = (r.ue().unwrap(), r.ue().unwrap(), r.ue().unwrap());
        assert_eq!((first_mb, slice_type, pps_id), (0, 5, 0));
        assert_eq!(r.bits(sps.log2_max_frame_num).unwrap(), 0, "wrapped");
        assert!(!r.flag().unwrap() && !r.flag().unwrap());
        assert_eq!(r.se().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 1);
        assert_eq!(r.ue().unwrap(), 8160);
        assert_eq!(r.bit().unwrap(), 1, "stop bit");
        // Not a start code anywhere inside.
        assert!(!au[4..].windows(3).any(|w| w == [0, 0, 1]));
    }

    #[test]
    fn weighted_prediction_and_redundant_counts_are_written_out() {
        let sps = Sps::parse(&crate::h264::params::tests::SPS_64X48).unwrap();
        let pps = Pps {
            weighted_pred: true,
            redundant_pic_cnt_present: true,
            num_ref_idx_l0_default_active: 2,
            ..Pps::parse(&crate::h264::params::tests::PPS).unwrap()
        };
        let au = write_repeat(&sps, &pps, 0);
        let rbsp = unescape(&au[5..]);
        let mut r = BitReader::new(&rbsp);
        let _ = (r.ue(), r.ue(), r.ue(), r.bits(4));
        assert_eq!(r.ue().unwrap(), 0, "redundant_pic_cnt");
        assert!(!r.flag().unwrap() && !r.flag().unwrap());
        assert_eq!((r.ue().unwrap(), r.ue().unwrap()), (0, 0), "denominators");
        for _ in 0..4 {
            assert!(!r.flag().unwrap(), "no explicit weights");
        }
        assert_eq!(r.se().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 1);
        assert_eq!(r.ue().unwrap(), 12);
    }

    #[test]
    fn streams_it_cannot_continue_are_refused() {
        let with = |sps: &[u8], pps: &[u8]| {
            let mut st = StreamState::new();
            let mut au = vec![0, 0, 0, 1, 0x67];
            au.extend(sps);
            au.extend([0, 0, 0, 1, 0x68]);
            au.extend(pps);
            au.extend(&X264_P1);
            st.observe(&au);
            st
        };
        let sps = crate::h264::params::tests::SPS_64X48;
        let pps = crate::h264::params::tests::PPS;
        assert!(with(&sps, &pps).repeat_picture().is_ok());
        // entropy_coding_mode_flag set (third bit of the PPS).
        let cabac = [pps[0] | 0b0010_0000, pps[1], pps[2]];
        assert_eq!(
            with(&sps, &cabac).repeat_picture(),
            Err(Unrepeatable::Cabac)
        );
        // A slice whose PPS never came.
        let mut st = StreamState::new();
        st.observe(&X264_P1);
        assert_eq!(st.repeat_picture(), Err(Unrepeatable::NoPicture));
        // A parameter set that does not parse makes repeats wait for new parameter sets.
        let mut st = with(&sps, &pps);
        st.observe(&[0, 0, 1, 0x68, 0xff]);
        assert_eq!(st.repeat_picture(), Err(Unrepeatable::NoPicture));
        st.observe(&X264_P2);
        assert_eq!(st.repeat_picture(), Err(Unrepeatable::NoPicture));
        assert!(with(&sps, &pps).repeat_picture().is_ok());
        // POC type 0: SPS with pic_order_cnt_type 0 (log2_max_poc_lsb 4).
        let mut w = BitWriter::new();
        w.bits(8, 66);
        w.bits(8, 0xc0);
        w.bits(8, 12);
        w.ue(0); // id
        w.ue(0); // log2_max_frame_num 4
        w.ue(0); // POC type 0
        w.ue(0); // log2_max_poc_lsb 4
        w.ue(1); // refs
        w.flag(false);
        w.ue(3);
        w.ue(2);
        w.flag(true);
        let poc0 = w.finish();
        assert_eq!(
            with(&poc0, &pps).repeat_picture(),
            Err(Unrepeatable::PicOrderCntType(0))
        );
        // Garbage never panics.
        let mut st = StreamState::new();
        for junk in [
            &[0u8, 0, 1, 0x41][..],
            &[0, 0, 1, 0x67, 0xff, 0xff],
            &[0, 0, 1],
        ] {
            st.observe(junk);
        }
        assert!(st.repeat_picture().is_err());
    }
}
