//! The parts of H.264 parameter sets and slice headers that say how an encoder numbers its
//! pictures and how a slice of its stream must be written (ITU-T H.264 §7.3.2.1.1, §7.3.2.2,
//! §7.3.3). Everything after the fields needed here is left unread.

use super::H264Error;
use super::bits::{BitReader, unescape};

/// What a sequence parameter set says about picture numbering and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sps {
    pub id: u32,
    pub profile_idc: u8,
    /// 0 (monochrome) to 3; 1 (4:2:0) unless a high profile says otherwise.
    pub chroma_format_idc: u32,
    pub separate_colour_plane: bool,
    /// `frame_num` is coded on this many bits.
    pub log2_max_frame_num: u32,
    pub pic_order_cnt_type: u32,
    pub log2_max_pic_order_cnt_lsb: u32,
    pub max_num_ref_frames: u32,
    pub width_in_mbs: u32,
    pub height_in_map_units: u32,
    pub frame_mbs_only: bool,
}

impl Sps {
    /// Parses an SPS NAL unit's payload (after the one-byte NAL header, still escaped).
    pub fn parse(payload: &[u8]) -> Result<Self, H264Error> {
        let rbsp = unescape(payload);
        let mut r = BitReader::new(&rbsp);
        let profile_idc = r.bits(8)? as u8;
        let _constraints = r.bits(8)?;
        let _level = r.bits(8)?;
        let id = r.ue()?;
        if id > 31 {
            return Err(H264Error::Invalid("seq_parameter_set_id above 31"));
        }
        let (mut chroma_format_idc, mut separate_colour_plane) = (1, false);
        if matches!(
            profile_idc,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        ) {
            chroma_format_idc = r.ue()?;
            if chroma_format_idc > 3 {
                return Err(H264Error::Invalid("chroma_format_idc above 3"));
            }
            if chroma_format_idc == 3 {
                separate_colour_plane = r.flag()?;
            }
            let _bit_depth_luma = r.ue()?;
            let _bit_depth_chroma = r.ue()?;
            let _transform_bypass = r.flag()?;
            if r.flag()? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.flag()? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        let log2_max_frame_num = r.ue()? + 4;
        if log2_max_frame_num > 16 {
            return Err(H264Error::Invalid("log2_max_frame_num above 16"));
        }
        let pic_order_cnt_type = r.ue()?;
        let mut log2_max_pic_order_cnt_lsb = 0;
        match pic_order_cnt_type {
            0 => {
                log2_max_pic_order_cnt_lsb = r.ue()? + 4;
                if log2_max_pic_order_cnt_lsb > 16 {
                    return Err(H264Error::Invalid("log2_max_pic_order_cnt_lsb above 16"));
                }
            }
            1 => {
                let _always_zero = r.flag()?;
                let _non_ref_offset = r.se()?;
                let _field_offset = r.se()?;
                let cycle = r.ue()?;
                if cycle > 255 {
                    return Err(H264Error::Invalid("POC cycle above 255"));
                }
                for _ in 0..cycle {
                    let _ = r.se()?;
                }
            }
            2 => {}
            _ => return Err(H264Error::Invalid("pic_order_cnt_type above 2")),
        }
        let max_num_ref_frames = r.ue()?;
        let _gaps_allowed = r.flag()?;
        let width_in_mbs = r.ue()? + 1;
        let height_in_map_units = r.ue()? + 1;
        let frame_mbs_only = r.flag()?;
        if width_in_mbs > 1024 || height_in_map_units > 1024 {
            return Err(H264Error::Invalid("picture larger than 16384 pixels"));
        }
        Ok(Self {
            id,
            profile_idc,
            chroma_format_idc,
            separate_colour_plane,
            log2_max_frame_num,
            pic_order_cnt_type,
            log2_max_pic_order_cnt_lsb,
            max_num_ref_frames,
            width_in_mbs,
            height_in_map_units,
            frame_mbs_only,
        })
    }

    /// Macroblocks in a frame (a frame-only stream's map units are macroblocks).
    pub fn frame_mbs(&self) -> u32 {
        let rows = if self.frame_mbs_only {
            self.height_in_map_units
        } else {
            2 * self.height_in_map_units
        };
        self.width_in_mbs * rows
    }

    /// `ChromaArrayType` (§7.4.2.1.1).
    pub fn chroma_array_type(&self) -> u32 {
        if self.separate_colour_plane {
            0
        } else {
            self.chroma_format_idc
        }
    }
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), H264Error> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            next = (last + delta).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// What a picture parameter set says about how its slices are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pps {
    pub id: u32,
    pub sps_id: u32,
    /// CABAC (true) or CAVLC.
    pub entropy_coding_mode: bool,
    pub bottom_field_pic_order_in_frame_present: bool,
    pub num_ref_idx_l0_default_active: u32,
    pub weighted_pred: bool,
    pub deblocking_filter_control_present: bool,
    pub redundant_pic_cnt_present: bool,
}

impl Pps {
    /// Parses a PPS NAL unit's payload (after the NAL header, still escaped). Slice groups are
    /// refused: their maps are not read, and no encoder the host drives uses them.
    pub fn parse(payload: &[u8]) -> Result<Self, H264Error> {
        let rbsp = unescape(payload);
        let mut r = BitReader::new(&rbsp);
        let id = r.ue()?;
        let sps_id = r.ue()?;
        if id > 255 || sps_id > 31 {
            return Err(H264Error::Invalid("parameter set id out of range"));
        }
        let entropy_coding_mode = r.flag()?;
        let bottom_field_pic_order_in_frame_present = r.flag()?;
        let num_slice_groups = r.ue()? + 1;
        if num_slice_groups > 1 {
            return Err(H264Error::Unsupported("slice groups"));
        }
        let num_ref_idx_l0_default_active = r.ue()? + 1;
        let _l1 = r.ue()?;
        if num_ref_idx_l0_default_active > 32 {
            return Err(H264Error::Invalid("more than 32 active references"));
        }
        let weighted_pred = r.flag()?;
        let _weighted_bipred = r.bits(2)?;
        let _init_qp = r.se()?;
        let _init_qs = r.se()?;
        let _chroma_qp_offset = r.se()?;
        let deblocking_filter_control_present = r.flag()?;
        let _constrained_intra = r.flag()?;
        let redundant_pic_cnt_present = r.flag()?;
        Ok(Self {
            id,
            sps_id,
            entropy_coding_mode,
            bottom_field_pic_order_in_frame_present,
            num_ref_idx_l0_default_active,
            weighted_pred,
            deblocking_filter_control_present,
            redundant_pic_cnt_present,
        })
    }
}

/// The start of a slice header: enough to tell which picture it belongs to and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceStart {
    pub first_mb: u32,
    /// 0–9; `slice_type % 5` is P 0, B 1, I 2, SP 3, SI 4.
    pub slice_type: u32,
    pub pps_id: u32,
    pub frame_num: u32,
}

impl SliceStart {
    /// Parses the first fields of a coded slice's payload (after the NAL header). `sps_of`
    /// finds the SPS of a PPS id: `frame_num`'s width and the colour-plane field depend on it.
    pub fn parse(
        payload: &[u8],
        sps_of: impl FnOnce(u32) -> Option<Sps>,
    ) -> Result<Self, H264Error> {
        // The fields read here fit well within the first 32 bytes.
        let head = unescape(&payload[..payload.len().min(32)]);
        let mut r = BitReader::new(&head);
        let first_mb = r.ue()?;
        let slice_type = r.ue()?;
        if slice_type > 9 {
            return Err(H264Error::Invalid("slice_type above 9"));
        }
        let pps_id = r.ue()?;
        let sps = sps_of(pps_id).ok_or(H264Error::UnknownParameterSet(pps_id))?;
        if sps.separate_colour_plane {
            let _colour_plane = r.bits(2)?;
        }
        let frame_num = r.bits(sps.log2_max_frame_num)?;
        Ok(Self {
            first_mb,
            slice_type,
            pps_id,
            frame_num,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// x264 (ultrafast, zerolatency, the host's settings) at 64×48 and at 1920×1080.
    pub const SPS_64X48: [u8; 25] = [
        0x42, 0xc0, 0x0c, 0xda, 0x11, 0xec, 0x05, 0xa8, 0x30, 0x30, 0x35, 0x28, 0x00, 0x00, 0x03,
        0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0xe4, 0x78, 0xa1, 0x55,
    ];
    pub const SPS_1080P: [u8; 27] = [
        0x42, 0xc0, 0x28, 0xda, 0x01, 0xe0, 0x08, 0x9f, 0x97, 0x01, 0x6a, 0x02, 0x02, 0x02, 0x80,
        0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x1e, 0x47, 0x8c, 0x19, 0x50,
    ];
    pub const PPS: [u8; 3] = [0xce, 0x3c, 0x80];

    #[test]
    fn x264_parameter_sets_parse() {
        let sps = Sps::parse(&SPS_64X48).unwrap();
        assert_eq!(sps.profile_idc, 66);
        assert_eq!((sps.width_in_mbs, sps.height_in_map_units), (4, 3));
        assert!(sps.frame_mbs_only);
        assert_eq!(sps.pic_order_cnt_type, 2, "x264 without B-frames");
        assert_eq!(sps.max_num_ref_frames, 1);
        assert_eq!(sps.frame_mbs(), 12);
        assert_eq!(sps.chroma_array_type(), 1);

        let sps = Sps::parse(&SPS_1080P).unwrap();
        // 1080 rows are coded as 68 macroblock rows (1088) and cropped.
        assert_eq!((sps.width_in_mbs, sps.height_in_map_units), (120, 68));
        assert_eq!(sps.frame_mbs(), 8160);

        let pps = Pps::parse(&PPS).unwrap();
        assert_eq!((pps.id, pps.sps_id), (0, 0));
        assert!(!pps.entropy_coding_mode, "ultrafast is CAVLC");
        assert_eq!(pps.num_ref_idx_l0_default_active, 1);
        assert!(!pps.weighted_pred);
        assert!(pps.deblocking_filter_control_present);
        assert!(!pps.redundant_pic_cnt_present);
    }

    #[test]
    fn x264_slices_carry_their_frame_numbers() {
        let sps = Sps::parse(&SPS_64X48).unwrap();
        // x264's IDR picture and its next two P pictures (NAL headers 0x65, 0x41, 0x41).
        let idr = [0x88, 0x84, 0x06, 0xa8, 0x93, 0x0a, 0x00, 0x03, 0xfb, 0xf2];
        let p1 = [0x9a, 0x20, 0x1a, 0xa1, 0xb0];
        let p2 = [0x9a, 0x40, 0x1a, 0xa1, 0xb0];
        let s = SliceStart::parse(&idr, |_| Some(sps)).unwrap();
        assert_eq!((s.first_mb, s.slice_type % 5, s.frame_num), (0, 2, 0));
        let s = SliceStart::parse(&p1, |_| Some(sps)).unwrap();
        assert_eq!((s.first_mb, s.slice_type % 5, s.frame_num), (0, 0, 1));
        let s = SliceStart::parse(&p2, |_| Some(sps)).unwrap();
        assert_eq!(s.frame_num, 2);
        assert!(matches!(
            SliceStart::parse(&p2, |_| None),
            Err(H264Error::UnknownParameterSet(0))
        ));
    }

    #[test]
    fn truncated_or_hostile_sets_are_errors() {
        // Its fields up to frame_mbs_only_flag take 6 bytes.
        for n in 0..6 {
            assert!(Sps::parse(&SPS_64X48[..n]).is_err(), "SPS cut at {n}");
        }
        assert!(Sps::parse(&SPS_64X48[..6]).is_ok());
        assert!(Pps::parse(&[]).is_err());
        assert!(Pps::parse(&[0xff]).is_err());
        assert!(
            Sps::parse(&[66, 0, 0, 0, 0, 0, 0, 0]).is_err(),
            "an endless Exp-Golomb code"
        );
        assert!(SliceStart::parse(&[], |_| None).is_err());
        // Slice groups (num_slice_groups_minus1 = 1) are refused.
        assert!(matches!(
            Pps::parse(&[0b1100_0100, 0x80]),
            Err(H264Error::Unsupported(_))
        ));
    }
}
