//! `disable_local_igmp`: the IGMP report sysctl, zeroed while an IPv4
//! VMAC is configured and restored afterwards.

use log::{info, warn};

use super::VrrpEngine;

impl VrrpEngine {
    /// keepalived's `disable_local_igmp`: a VMAC joining 224.0.0.18 would
    /// send IGMP reports from the virtual MAC, and a switch that learns it
    /// from the backup's port sends the VIP's traffic there. RFC 4541 makes
    /// snooping switches flood 224.0.0.x anyway, so the reports are useless.
    pub(super) fn apply_local_igmp(&mut self) {
        use crate::sys::sysctl::{read_global, write_global, IGMP_LINK_LOCAL_REPORTS as KEY};
        match (self.periphery.quiet_local_igmp, self.periphery.igmp_saved) {
            (true, None) => match read_global(KEY).and_then(|old| write_global(KEY, 0).map(|()| old)) {
                Ok(old) => {
                    info!("disable_local_igmp: no IGMP reports for 224.0.0.x groups (was {old})");
                    self.periphery.igmp_saved = Some(old);
                }
                Err(e) => warn!("disable_local_igmp: {e}"),
            },
            (false, Some(old)) => {
                if let Err(e) = write_global(KEY, old) {
                    warn!("disable_local_igmp: restoring {KEY}: {e}");
                }
                self.periphery.igmp_saved = None;
            }
            _ => {}
        }
    }
}
