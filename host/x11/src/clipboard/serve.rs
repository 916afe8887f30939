//! Serving the text we own to other X clients (ICCCM §2.2): SelectionRequest for TARGETS,
//! TIMESTAMP, UTF8_STRING, TEXT, STRING and MULTIPLE, with INCR transfers for data larger
//! than one property write.

use std::sync::Arc;

use x11rb::protocol::xproto::{
    Atom, AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, EventMask, PropMode, Property,
    PropertyNotifyEvent, SelectionNotifyEvent, SelectionRequestEvent, Window,
};
use x11rb::wrapper::ConnectionExt as _;

use super::service::Service;
use super::transfer::{Outgoing, to_latin1};
use crate::error::X11Error;

/// The answer to `e`: the conversion is in `property` of the requestor, or None when refused
/// (ICCCM §2.2). Public for the test clients that play the other side.
pub fn selection_notify(e: &SelectionRequestEvent, property: Atom) -> SelectionNotifyEvent {
    SelectionNotifyEvent {
        response_type: x11rb::protocol::xproto::SELECTION_NOTIFY_EVENT,
        sequence: 0,
        time: e.time,
        requestor: e.requestor,
        selection: e.selection,
        target: e.target,
        property,
    }
}

/// One INCR send in progress.
pub(super) struct Sending {
    pub(super) requestor: Window,
    pub(super) property: Atom,
    pub(super) kind: Atom,
    pub(super) out: Outgoing,
}

impl Service {
    pub(super) fn serve(&mut self, e: &SelectionRequestEvent) -> Result<(), X11Error> {
        // Obsolete requestors leave the property None and expect the target's name (ICCCM).
        let property = if e.property == x11rb::NONE {
            e.target
        } else {
            e.property
        };
        let ours =
            self.owned.is_some() && e.selection == self.atoms.CLIPBOARD && e.owner == self.window;
        let ok = ours && self.convert(e.requestor, e.target, property)?;
        tracing::trace!(
            requestor = e.requestor,
            target = e.target,
            ok,
            "clipboard request"
        );
        let notify = selection_notify(e, if ok { property } else { x11rb::NONE });
        self.conn
            .send_event(false, e.requestor, EventMask::NO_EVENT, notify)?;
        Ok(())
    }

    /// Writes `target` of our text to `requestor`'s `property`; false when we cannot.
    fn convert(
        &mut self,
        requestor: Window,
        target: Atom,
        property: Atom,
    ) -> Result<bool, X11Error> {
        let a = self.atoms;
        let Some(owned) = &mut self.owned else {
            return Ok(false);
        };
        let png = owned.png.clone();
        if target == a.TARGETS {
            // An image from the browser has no text to offer.
            let targets = match png {
                Some(_) => vec![a.TARGETS, a.TIMESTAMP, a.MULTIPLE, a.IMAGE_PNG],
                None => vec![
                    a.TARGETS,
                    a.TIMESTAMP,
                    a.MULTIPLE,
                    a.UTF8_STRING,
                    a.TEXT,
                    AtomEnum::STRING.into(),
                ],
            };
            self.conn.change_property32(
                PropMode::REPLACE,
                requestor,
                property,
                AtomEnum::ATOM,
                &targets,
            )?;
            Ok(true)
        } else if target == a.TIMESTAMP {
            let since = owned.since;
            self.conn.change_property32(
                PropMode::REPLACE,
                requestor,
                property,
                AtomEnum::INTEGER,
                &[since],
            )?;
            Ok(true)
        } else if target == a.MULTIPLE && property != target {
            self.convert_multiple(requestor, property)
        } else if let Some(png) = png {
            if target != a.IMAGE_PNG {
                return Ok(false);
            }
            self.send_bytes(requestor, property, a.IMAGE_PNG, png)?;
            Ok(true)
        } else if target == a.UTF8_STRING || target == a.TEXT {
            // TEXT lets the owner choose the encoding; UTF-8 loses nothing.
            let data = owned.utf8.clone();
            self.send_bytes(requestor, property, a.UTF8_STRING, data)?;
            Ok(true)
        } else if target == u32::from(AtomEnum::STRING) {
            let data = owned
                .latin1
                .get_or_insert_with(|| Arc::from(to_latin1(&owned.text)))
                .clone();
            self.send_bytes(requestor, property, AtomEnum::STRING.into(), data)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// MULTIPLE: the property holds (target, property) pairs; each is converted, and the
    /// property of a pair we cannot convert is replaced by None, as ICCCM asks.
    fn convert_multiple(&mut self, requestor: Window, property: Atom) -> Result<bool, X11Error> {
        let reply = self
            .conn
            .get_property(false, requestor, property, AtomEnum::ANY, 0, 1024)?
            .reply()?;
        let Some(pairs) = reply.value32() else {
            return Ok(false);
        };
        let mut pairs: Vec<u32> = pairs.collect();
        let kind = reply.type_;
        for pair in pairs.chunks_exact_mut(2) {
            let (target, prop) = (pair[0], pair[1]);
            let nested = target == self.atoms.MULTIPLE;
            if nested || prop == x11rb::NONE || !self.convert(requestor, target, prop)? {
                pair[1] = x11rb::NONE;
            }
        }
        self.conn
            .change_property32(PropMode::REPLACE, requestor, property, kind, &pairs)?;
        Ok(true)
    }

    /// Small data in one property write; larger data announced as INCR and sent in chunks as
    /// the requestor deletes each one.
    fn send_bytes(
        &mut self,
        requestor: Window,
        property: Atom,
        kind: Atom,
        data: Arc<[u8]>,
    ) -> Result<(), X11Error> {
        if data.len() <= self.chunk {
            self.conn
                .change_property8(PropMode::REPLACE, requestor, property, kind, &data)?;
            return Ok(());
        }
        // Deletions of the requestor's property are what pace the transfer.
        self.conn.change_window_attributes(
            requestor,
            &ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE),
        )?;
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.conn.change_property32(
            PropMode::REPLACE,
            requestor,
            property,
            self.atoms.INCR,
            &[size],
        )?;
        tracing::debug!(requestor, bytes = data.len(), "clipboard INCR send started");
        self.outgoing
            .retain(|s| (s.requestor, s.property) != (requestor, property));
        self.outgoing.push(Sending {
            requestor,
            property,
            kind,
            out: Outgoing::new(data),
        });
        Ok(())
    }

    /// A requestor deleted a property: the INCR announcement or the previous chunk.
    pub(super) fn on_requestor_property(
        &mut self,
        e: &PropertyNotifyEvent,
    ) -> Result<(), X11Error> {
        if e.state != Property::DELETE {
            return Ok(());
        }
        let Some(i) = self
            .outgoing
            .iter()
            .position(|s| (s.requestor, s.property) == (e.window, e.atom))
        else {
            return Ok(());
        };
        let chunk = self.chunk;
        let s = &mut self.outgoing[i];
        let (requestor, property, kind) = (s.requestor, s.property, s.kind);
        let finished = match s.out.next_chunk(chunk) {
            Some(bytes) => {
                self.conn
                    .change_property8(PropMode::REPLACE, requestor, property, kind, bytes)?;
                bytes.is_empty()
            }
            None => true,
        };
        if finished {
            self.outgoing.swap_remove(i);
            tracing::debug!(requestor, "clipboard INCR send finished");
            if !self.outgoing.iter().any(|s| s.requestor == requestor) {
                self.conn.change_window_attributes(
                    requestor,
                    &ChangeWindowAttributesAux::new().event_mask(EventMask::NO_EVENT),
                )?;
            }
        }
        Ok(())
    }
}
