fn main() {
    std::process::exit(vigil::cli::main(std::env::args_os().collect()));
}

/// The router build (packaging/cross/build.sh passes `--cfg vigil_no_unwinder`)
/// has no unwind tables, no symbols and panic=abort: nothing ever unwinds,
/// and the stack walker that std's default panic hook links for
/// `RUST_BACKTRACE` could not name a frame. Defining every libunwind entry
/// point std refers to (the walk, and the accessors of its personality
/// routine, which never runs) keeps libunwind out of the link: 70 KB on
/// x86_64 with the C formatting it brings. A walk ends at once. Panics
/// still log their message and source line (src/daemon/log.rs).
///
/// ARM is left out: its C objects (musl, built by zig with unwind tables)
/// name the EHABI personality routines, which bring libunwind in anyway.
#[cfg(all(vigil_no_unwinder, not(target_arch = "arm")))]
mod no_unwinder {
    use std::ffi::{c_int, c_void};

    type Context = *mut c_void;
    const END_OF_STACK: c_int = 5; // _URC_END_OF_STACK

    #[no_mangle]
    extern "C" fn _Unwind_Backtrace(
        _trace: extern "C" fn(Context, *mut c_void) -> c_int,
        _arg: *mut c_void,
    ) -> c_int {
        END_OF_STACK
    }

    #[no_mangle]
    extern "C" fn _Unwind_GetIP(_ctx: Context) -> usize {
        0
    }

    #[no_mangle]
    extern "C" fn _Unwind_GetIPInfo(_ctx: Context, _before: *mut c_int) -> usize {
        0
    }

    #[no_mangle]
    extern "C" fn _Unwind_GetLanguageSpecificData(_ctx: Context) -> *mut c_void {
        std::ptr::null_mut()
    }

    #[no_mangle]
    extern "C" fn _Unwind_GetRegionStart(_ctx: Context) -> usize {
        0
    }

    #[no_mangle]
    extern "C" fn _Unwind_GetDataRelBase(_ctx: Context) -> usize {
        0
    }

    #[no_mangle]
    extern "C" fn _Unwind_GetTextRelBase(_ctx: Context) -> usize {
        0
    }

    #[no_mangle]
    extern "C" fn _Unwind_SetGR(_ctx: Context, _reg: c_int, _value: usize) {}

    #[no_mangle]
    extern "C" fn _Unwind_SetIP(_ctx: Context, _value: usize) {}
}
