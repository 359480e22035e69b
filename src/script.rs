//! Running notify scripts, vrrp_scripts and MISC_CHECKs.
