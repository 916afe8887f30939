//! Setting GStreamer element properties from values that come from a peer, a flag or the
//! `--json_config` overlay. Every value is fitted to the range the property's `GParamSpec`
//! declares before it reaches `set_property`: glib panics on an out-of-range value (x264enc's
//! `bitrate` tops out at 2048000 kbit/s, x265enc's at 102400), and a panic there would stop the
//! video for good. Unparsable values are refused with a log line; absent properties are skipped
//! (element versions differ in which properties exist).

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use tracing::{debug, warn};

/// What became of one property assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Set to the value asked for.
    Exact,
    /// Set, but to the nearest value the property accepts.
    Clamped { asked: String, set: String },
    /// The element has no such (writable) property.
    Absent,
    /// The text is not a value of the property's type.
    Invalid,
}

/// Inclusive numeric range of a property, when it has one.
pub fn numeric_range(pspec: &glib::ParamSpec) -> Option<(f64, f64)> {
    macro_rules! range_of {
        ($($t:ty),*) => {
            $(if let Some(p) = pspec.downcast_ref::<$t>() {
                return Some((p.minimum() as f64, p.maximum() as f64));
            })*
        };
    }
    range_of!(
        glib::ParamSpecInt,
        glib::ParamSpecUInt,
        glib::ParamSpecInt64,
        glib::ParamSpecUInt64,
        glib::ParamSpecLong,
        glib::ParamSpecULong,
        glib::ParamSpecFloat,
        glib::ParamSpecDouble
    );
    None
}

/// Integer range of a property, when it is an integer property.
fn integer_range(pspec: &glib::ParamSpec) -> Option<(i128, i128)> {
    macro_rules! range_of {
        ($($t:ty),*) => {
            $(if let Some(p) = pspec.downcast_ref::<$t>() {
                return Some((i128::from(p.minimum()), i128::from(p.maximum())));
            })*
        };
    }
    range_of!(
        glib::ParamSpecInt,
        glib::ParamSpecUInt,
        glib::ParamSpecInt64,
        glib::ParamSpecUInt64
    );
    #[allow(clippy::unnecessary_cast)]
    if let Some(p) = pspec.downcast_ref::<glib::ParamSpecLong>() {
        return Some((p.minimum() as i128, p.maximum() as i128));
    }
    #[allow(clippy::unnecessary_cast)]
    if let Some(p) = pspec.downcast_ref::<glib::ParamSpecULong>() {
        return Some((p.minimum() as i128, p.maximum() as i128));
    }
    None
}

/// An integer of the property's exact type; `v` is already within the property's range.
fn integer_value(pspec: &glib::ParamSpec, v: i128) -> Option<glib::Value> {
    let t = pspec.value_type();
    let value = if t == glib::Type::I32 {
        i32::try_from(v).ok()?.to_value()
    } else if t == glib::Type::U32 {
        u32::try_from(v).ok()?.to_value()
    } else if t == glib::Type::I64 {
        i64::try_from(v).ok()?.to_value()
    } else if t == glib::Type::U64 {
        u64::try_from(v).ok()?.to_value()
    } else if t == glib::Type::I_LONG {
        glib::ILong(std::os::raw::c_long::try_from(v).ok()?).to_value()
    } else if t == glib::Type::U_LONG {
        glib::ULong(std::os::raw::c_ulong::try_from(v).ok()?).to_value()
    } else {
        return None;
    };
    Some(value)
}

/// The text is not a value of the property's type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not a value of this property's type")]
pub struct NotAValue;

/// The value `text` stands for, fitted to `pspec`'s range. Pure: no element is touched.
pub fn fit(pspec: &glib::ParamSpec, text: &str) -> Result<(glib::Value, Applied), NotAValue> {
    let trimmed = text.trim();
    if let Some((min, max)) = integer_range(pspec) {
        let asked: i128 = match trimmed.parse::<i128>() {
            Ok(v) => v,
            // "1e9" or "2.5" for an integer property: round, then clamp.
            Err(_) => match trimmed.parse::<f64>() {
                Ok(f) if f.is_finite() => f.round().clamp(-1e30, 1e30) as i128,
                _ => return Err(NotAValue),
            },
        };
        let set = asked.clamp(min, max);
        let value = integer_value(pspec, set).ok_or(NotAValue)?;
        let applied = applied(
            set == asked && trimmed.parse::<i128>().is_ok(),
            trimmed,
            set,
        );
        return Ok((value, applied));
    }
    if let Some((min, max)) = numeric_range(pspec) {
        let asked: f64 = trimmed.parse().map_err(|_| NotAValue)?;
        if !asked.is_finite() {
            return Err(NotAValue);
        }
        let set = asked.clamp(min, max);
        let value = if pspec.value_type() == glib::Type::F32 {
            (set as f32).to_value()
        } else {
            set.to_value()
        };
        let applied = applied(set == asked, trimmed, set);
        return Ok((value, applied));
    }
    glib::Value::deserialize_with_pspec(text, pspec)
        .map(|v| (v, Applied::Exact))
        .map_err(|_| NotAValue)
}

/// Exact when the value was taken as asked, else what was asked and what was set instead.
fn applied(exact: bool, asked: &str, set: impl ToString) -> Applied {
    if exact {
        Applied::Exact
    } else {
        Applied::Clamped {
            asked: asked.to_string(),
            set: set.to_string(),
        }
    }
}

/// Set `name` on `element` from its text form, within the property's range. Clamping and
/// refusals are logged here, so callers only look at the result when they report it back.
pub fn set(element: &impl IsA<gst::Object>, name: &str, text: &str) -> Applied {
    let element = element.upcast_ref::<gst::Object>();
    let Some(pspec) = element
        .find_property(name)
        .filter(|p| p.flags().contains(glib::ParamFlags::WRITABLE))
    else {
        debug!(element = %element.name(), property = name, "property not present");
        return Applied::Absent;
    };
    match fit(&pspec, text) {
        Ok((value, applied)) => {
            // Debug only: callers fit peer values first and log that (rate-limited); what is
            // left are derived values (VBV sizes) that follow from an already-logged change.
            if let Applied::Clamped { asked, set } = &applied {
                debug!(
                    element = %element.name(),
                    property = name,
                    asked = %asked,
                    set = %set,
                    "value outside the property's range; clamped"
                );
            }
            element.set_property_from_value(name, &value);
            applied
        }
        Err(NotAValue) => {
            warn!(element = %element.name(), property = name, value = text, "cannot parse property value");
            Applied::Invalid
        }
    }
}

/// The range of `name` on the element type `factory` makes, without creating an element.
pub fn factory_range(factory: &str, name: &str) -> Option<(f64, f64)> {
    let loaded = gst::ElementFactory::find(factory)?.load().ok()?;
    let class = glib::object::ObjectClass::from_type(loaded.element_type())?;
    numeric_range(&class.find_property(name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pspec_of(factory: &str, name: &str) -> Option<glib::ParamSpec> {
        gst::init().ok()?;
        let el = gst::ElementFactory::make(factory).build().ok()?;
        el.find_property(name)
    }

    #[test]
    fn huge_bitrate_is_clamped_to_x264enc_maximum() {
        let Some(p) = pspec_of("x264enc", "bitrate") else {
            panic!("x264enc is installed on the test machine");
        };
        let (v, applied) = fit(&p, "99999999").expect("a number");
        assert_eq!(v.get::<u32>().ok(), Some(2_048_000));
        assert_eq!(
            applied,
            Applied::Clamped {
                asked: "99999999".into(),
                set: "2048000".into()
            }
        );
        let (v, _) = fit(&p, "0").expect("a number");
        assert_eq!(v.get::<u32>().ok(), Some(1));
        // Beyond u32 itself: still a clamp, not a parse error.
        let (v, _) = fit(&p, "99999999000").expect("a number");
        assert_eq!(v.get::<u32>().ok(), Some(2_048_000));
        assert!(fit(&p, "fast").is_err());
    }

    #[test]
    fn signed_and_enum_properties() {
        let Some(p) = pspec_of("opusenc", "bitrate") else {
            panic!("opusenc is installed on the test machine");
        };
        assert_eq!(
            fit(&p, "1000").map(|v| v.0.get::<i32>().ok()),
            Ok(Some(4000))
        );
        assert_eq!(
            fit(&p, "64000").map(|v| v.1),
            Ok(Applied::Exact),
            "in range"
        );
        let Some(e) = pspec_of("opusenc", "bitrate-type") else {
            panic!("opusenc has bitrate-type");
        };
        assert!(fit(&e, "cbr").is_ok());
        assert!(fit(&e, "no-such-mode").is_err());
    }

    #[test]
    fn set_never_panics_on_a_running_element() {
        gst::init().expect("gst init");
        let enc = gst::ElementFactory::make("x265enc")
            .build()
            .expect("x265enc installed");
        assert!(matches!(
            set(&enc, "bitrate", "150000"),
            Applied::Clamped { .. }
        ));
        assert_eq!(enc.property::<u32>("bitrate"), 102_400);
        assert_eq!(set(&enc, "no-such-prop", "1"), Applied::Absent);
        assert_eq!(set(&enc, "bitrate", "lots"), Applied::Invalid);
        assert_eq!(factory_range("x265enc", "bitrate"), Some((1.0, 102_400.0)));
    }
}
