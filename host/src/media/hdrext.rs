//! What every RTP header extension the host writes has in common: the GObject subclass around
//! an `RTPHeaderExtension`, its element metadata, the one- and two-byte header forms, the fixed
//! body size, and the `read` that accepts a peer's value without acting on it (the host only
//! sends). Each extension module keeps its wire format, its state and its `write`.

/// Defines the subclass `$imp` (registered as `$name`, wrapping `$wrapper`) of an RTP header
/// extension with URI `super::URI` and a body of `super::SIZE` bytes that `$decode(data)`
/// (an `Option`) parses; `write` is given as the method's own tokens.
macro_rules! header_extension {
    (
        imp: $imp:ident,
        wrapper: $wrapper:ty,
        name: $name:literal,
        long_name: $long:literal,
        description: $desc:literal,
        decode: $decode:path,
        write: { $($write:tt)* }
    ) => {
        #[glib::object_subclass]
        impl ObjectSubclass for $imp {
            const NAME: &'static str = $name;
            type Type = $wrapper;
            type ParentType = gst_rtp::RTPHeaderExtension;
        }

        impl ObjectImpl for $imp {}
        impl GstObjectImpl for $imp {}

        impl ElementImpl for $imp {
            fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
                static META: std::sync::OnceLock<gst::subclass::ElementMetadata> =
                    std::sync::OnceLock::new();
                Some(META.get_or_init(|| {
                    gst::subclass::ElementMetadata::new(
                        $long,
                        gst_rtp::RTP_HDREXT_ELEMENT_CLASS,
                        $desc,
                        "selkies",
                    )
                }))
            }
        }

        impl RTPHeaderExtensionImpl for $imp {
            const URI: &'static str = super::URI;

            fn supported_flags(&self) -> gst_rtp::RTPHeaderExtensionFlags {
                gst_rtp::RTPHeaderExtensionFlags::ONE_BYTE
                    | gst_rtp::RTPHeaderExtensionFlags::TWO_BYTE
            }

            fn max_size(&self, _input: &gst::BufferRef) -> usize {
                super::SIZE
            }

            $($write)*

            fn read(
                &self,
                _flags: gst_rtp::RTPHeaderExtensionFlags,
                data: &[u8],
                _output: &mut gst::BufferRef,
            ) -> Result<(), gst::LoggableError> {
                // The host only sends; a peer's value is accepted and not acted upon.
                $decode(data).map(|_| ()).ok_or_else(|| {
                    gst::loggable_error!(gst::CAT_RUST, concat!("bad body for ", $name))
                })
            }
        }
    };
}

pub(crate) use header_extension;

/// Defines the public object `$wrapper` around the calling module's `imp::Ext`, created with its
/// `$field` set and the module's `EXTMAP_ID` as its id.
macro_rules! header_extension_object {
    ($wrapper:ident, $field:ident: $ty:ty) => {
        glib::wrapper! {
            /// The header-extension object added to the video payloader.
            pub struct $wrapper(ObjectSubclass<imp::Ext>)
                @extends gst_rtp::RTPHeaderExtension, gst::Element, gst::Object;
        }

        impl $wrapper {
            pub fn new($field: $ty) -> Self {
                let ext: Self = glib::Object::new();
                *crate::sync::lock(&imp::Ext::from_obj(&ext).$field) = $field;
                ext.set_id(EXTMAP_ID);
                ext
            }
        }
    };
}

pub(crate) use header_extension_object;

/// Copies `body` into the room webrtc gives the extension, or says there is none.
pub fn put(data: &mut [u8], body: &[u8], what: &str) -> Result<usize, gstreamer::LoggableError> {
    let Some(dst) = data.get_mut(..body.len()) else {
        return Err(gstreamer::loggable_error!(
            gstreamer::CAT_RUST,
            "no room for the {what} extension"
        ));
    };
    dst.copy_from_slice(body);
    Ok(body.len())
}

/// Adds `ext` to `payloader` (an `RTPBasePayload`) so the packets it writes carry it.
pub fn add_to(
    payloader: &gstreamer::Element,
    ext: impl gstreamer::prelude::IsA<gstreamer_rtp::RTPHeaderExtension>,
) {
    use gstreamer::prelude::*;
    payloader.emit_by_name::<()>(
        "add-extension",
        &[&ext.upcast::<gstreamer_rtp::RTPHeaderExtension>()],
    );
}

/// For the extensions' tests: three H.264 keyframes payloaded into 300-byte packets (`pay`)
/// that end in an appsink (`sink`), not yet playing.
#[cfg(test)]
pub fn test_pipeline() -> (gstreamer::Pipeline, gstreamer::Element) {
    use gstreamer::prelude::*;
    gstreamer::init().expect("gst init");
    let pipeline = gstreamer::parse::launch(
        "videotestsrc num-buffers=3 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency key-int-max=1 ! rtph264pay name=pay mtu=300 \
         ! appsink name=sink sync=false",
    )
    .expect("pipeline")
    .downcast::<gstreamer::Pipeline>()
    .expect("a pipeline");
    let pay = pipeline.by_name("pay").expect("pay");
    (pipeline, pay)
}
