//! The GSS-API acceptor: MIT Kerberos' `libgssapi_krb5.so.2`, loaded when a keytab is
//! configured (Debian's `libgssapi-krb5-2`, in its base image), so that the default build
//! answers Negotiate without Kerberos headers or libclang at build time. The service's
//! credential comes from an explicit keytab and the replay cache lives in sessiond's data
//! directory, so nothing depends on `KRB5_*` variables and a replayed token is refused.
//!
//! Only the eight calls an acceptor needs are bound, with the C types of MIT's
//! `gssapi.h` (RFC 2744, plus `gss_acquire_cred_from` from MIT's credential-store
//! extension).

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;
use std::ptr;
use std::sync::Mutex;

use libloading::Library;

use super::{Accepted, Negotiate, NegotiateError};

type OmUint32 = u32;
type Opaque = *mut c_void;

/// The library's name on Debian and most Linux systems (the SONAME of MIT's GSS-API).
pub const LIBRARY: &str = "libgssapi_krb5.so.2";

#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}

impl Buffer {
    fn empty() -> Buffer {
        Buffer {
            length: 0,
            value: ptr::null_mut(),
        }
    }
}

#[repr(C)]
struct KeyValueElement {
    key: *const c_char,
    value: *const c_char,
}

#[repr(C)]
struct KeyValueSet {
    count: OmUint32,
    elements: *mut KeyValueElement,
}

const GSS_C_ACCEPT: c_int = 2;
const GSS_C_INDEFINITE: OmUint32 = 0xffff_ffff;
const GSS_S_CONTINUE_NEEDED: OmUint32 = 1;
const GSS_C_GSS_CODE: c_int = 1;
const GSS_C_MECH_CODE: c_int = 2;

fn failed(major: OmUint32) -> bool {
    major & 0xffff_0000 != 0
}

type AcquireCredFrom = unsafe extern "C" fn(
    *mut OmUint32,
    Opaque,
    OmUint32,
    Opaque,
    c_int,
    *const KeyValueSet,
    *mut Opaque,
    *mut Opaque,
    *mut OmUint32,
) -> OmUint32;
type AcceptSecContext = unsafe extern "C" fn(
    *mut OmUint32,
    *mut Opaque,
    Opaque,
    *const Buffer,
    Opaque,
    *mut Opaque,
    *mut Opaque,
    *mut Buffer,
    *mut OmUint32,
    *mut OmUint32,
    *mut Opaque,
) -> OmUint32;
type DisplayName =
    unsafe extern "C" fn(*mut OmUint32, Opaque, *mut Buffer, *mut Opaque) -> OmUint32;
type DisplayStatus = unsafe extern "C" fn(
    *mut OmUint32,
    OmUint32,
    c_int,
    Opaque,
    *mut OmUint32,
    *mut Buffer,
) -> OmUint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OmUint32, *mut Buffer) -> OmUint32;
type ReleaseHandle = unsafe extern "C" fn(*mut OmUint32, *mut Opaque) -> OmUint32;
type DeleteSecContext = unsafe extern "C" fn(*mut OmUint32, *mut Opaque, *mut Buffer) -> OmUint32;

/// The bound calls. The `Library` is kept so that they stay loaded.
struct Gss {
    acquire_cred_from: AcquireCredFrom,
    accept_sec_context: AcceptSecContext,
    display_name: DisplayName,
    display_status: DisplayStatus,
    release_buffer: ReleaseBuffer,
    release_name: ReleaseHandle,
    release_cred: ReleaseHandle,
    delete_sec_context: DeleteSecContext,
    _library: Library,
}

impl Gss {
    fn load(name: &str) -> Result<Gss, String> {
        // SAFETY: loading MIT's GSS-API runs its initialisers, which have no preconditions.
        let library = unsafe { Library::new(name) }.map_err(|e| {
            format!(
                "Negotiate needs MIT Kerberos' GSS-API library {name} (Debian: apt-get install libgssapi-krb5-2): {e}"
            )
        })?;
        macro_rules! bind {
            ($sym:literal, $ty:ty) => {{
                // SAFETY: the symbol has this C signature in MIT's gssapi.h.
                let f: libloading::Symbol<$ty> = unsafe { library.get($sym) }.map_err(|e| {
                    format!(
                        "{name} lacks {}: {e}",
                        String::from_utf8_lossy(&$sym[..$sym.len() - 1])
                    )
                })?;
                *f
            }};
        }
        Ok(Gss {
            acquire_cred_from: bind!(b"gss_acquire_cred_from\0", AcquireCredFrom),
            accept_sec_context: bind!(b"gss_accept_sec_context\0", AcceptSecContext),
            display_name: bind!(b"gss_display_name\0", DisplayName),
            display_status: bind!(b"gss_display_status\0", DisplayStatus),
            release_buffer: bind!(b"gss_release_buffer\0", ReleaseBuffer),
            release_name: bind!(b"gss_release_name\0", ReleaseHandle),
            release_cred: bind!(b"gss_release_cred\0", ReleaseHandle),
            delete_sec_context: bind!(b"gss_delete_sec_context\0", DeleteSecContext),
            _library: library,
        })
    }

    /// Takes a buffer the library filled: its bytes, and the buffer released.
    fn take(&self, buf: &mut Buffer) -> Vec<u8> {
        let bytes = if buf.value.is_null() || buf.length == 0 {
            Vec::new()
        } else {
            // SAFETY: the library filled `length` bytes at `value`.
            unsafe { std::slice::from_raw_parts(buf.value as *const u8, buf.length) }.to_vec()
        };
        let mut minor = 0;
        // SAFETY: a buffer the library allocated, released once.
        unsafe { (self.release_buffer)(&mut minor, buf) };
        bytes
    }

    /// The library's words for a status, major and minor.
    fn describe(&self, major: OmUint32, minor: OmUint32) -> String {
        let mut parts = Vec::new();
        for (code, kind) in [(major, GSS_C_GSS_CODE), (minor, GSS_C_MECH_CODE)] {
            if code == 0 {
                continue;
            }
            let mut context: OmUint32 = 0;
            // Bounded: the library hands out one message per call until context is 0.
            for _ in 0..8 {
                let (mut m, mut buf) = (0, Buffer::empty());
                // SAFETY: out-pointers to locals; the default mechanism (null).
                let st = unsafe {
                    (self.display_status)(
                        &mut m,
                        code,
                        kind,
                        ptr::null_mut(),
                        &mut context,
                        &mut buf,
                    )
                };
                if failed(st) {
                    break;
                }
                parts.push(String::from_utf8_lossy(&self.take(&mut buf)).into_owned());
                if context == 0 {
                    break;
                }
            }
        }
        if parts.is_empty() {
            format!("GSS major {major:#x}, minor {minor}")
        } else {
            parts.join(": ")
        }
    }
}

/// The acceptor credential. MIT's library may be called from several threads with
/// distinct contexts; the credential and its replay cache are shared, so acceptances take
/// turns (a Kerberos acceptance is a local decryption, well under a millisecond).
pub struct GssAcceptor {
    gss: Gss,
    cred: Mutex<Opaque>,
}

// SAFETY: the credential handle is only used under the mutex, and the bound functions are
// plain C functions of a thread-safe library.
unsafe impl Send for GssAcceptor {}
unsafe impl Sync for GssAcceptor {}

impl GssAcceptor {
    /// Loads the library and acquires an acceptor credential for every principal in
    /// `keytab`, with its replay cache at `rcache`.
    pub fn new(keytab: &Path, rcache: &Path) -> Result<GssAcceptor, String> {
        Self::with_library(LIBRARY, keytab, rcache)
    }

    pub fn with_library(
        library: &str,
        keytab: &Path,
        rcache: &Path,
    ) -> Result<GssAcceptor, String> {
        let gss = Gss::load(library)?;
        let key = |s: &str| CString::new(s).map_err(|_| "a path holds a NUL byte".to_owned());
        let (k_keytab, v_keytab) = (key("keytab")?, key(&keytab.display().to_string())?);
        let (k_rcache, v_rcache) = (key("rcache")?, key(&format!("file2:{}", rcache.display()))?);
        let mut elements = [
            KeyValueElement {
                key: k_keytab.as_ptr(),
                value: v_keytab.as_ptr(),
            },
            KeyValueElement {
                key: k_rcache.as_ptr(),
                value: v_rcache.as_ptr(),
            },
        ];
        let store = KeyValueSet {
            count: elements.len() as OmUint32,
            elements: elements.as_mut_ptr(),
        };
        let mut minor: OmUint32 = 0;
        let mut cred: Opaque = ptr::null_mut();
        // SAFETY: every pointer passed lives until the call returns; `cred` receives a new
        // credential owned by the acceptor (released in Drop).
        let major = unsafe {
            (gss.acquire_cred_from)(
                &mut minor,
                ptr::null_mut(),
                GSS_C_INDEFINITE,
                ptr::null_mut(),
                GSS_C_ACCEPT,
                &store,
                &mut cred,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if failed(major) || cred.is_null() {
            return Err(format!(
                "cannot acquire an acceptor credential from the keytab {}: {}",
                keytab.display(),
                gss.describe(major, minor)
            ));
        }
        Ok(GssAcceptor {
            gss,
            cred: Mutex::new(cred),
        })
    }
}

impl Drop for GssAcceptor {
    fn drop(&mut self) {
        let cred = self.cred.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut minor = 0;
        // SAFETY: the credential acquired in `new`, released once.
        unsafe { (self.gss.release_cred)(&mut minor, cred) };
    }
}

impl Negotiate for GssAcceptor {
    fn accept(&self, token: &[u8]) -> Result<Accepted, NegotiateError> {
        let gss = &self.gss;
        let cred = self.cred.lock().unwrap_or_else(|e| e.into_inner());
        let input = Buffer {
            length: token.len(),
            value: token.as_ptr() as *mut c_void,
        };
        let (mut minor, mut ctx, mut name) = (0, ptr::null_mut(), ptr::null_mut());
        let mut output = Buffer::empty();
        // SAFETY: `input` points into `token` for the call; the out-pointers are locals
        // released below (the context, the name, the output buffer).
        let major = unsafe {
            (gss.accept_sec_context)(
                &mut minor,
                &mut ctx,
                *cred,
                &input,
                ptr::null_mut(),
                &mut name,
                ptr::null_mut(),
                &mut output,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        drop(cred);
        let reply = gss.take(&mut output);
        let result = if failed(major) {
            Err(NegotiateError::Rejected(gss.describe(major, minor)))
        } else if major & GSS_S_CONTINUE_NEEDED != 0 {
            Err(NegotiateError::ContinueNeeded)
        } else {
            let mut shown = Buffer::empty();
            let mut m = 0;
            // SAFETY: `name` was set by the completed acceptance.
            let st = unsafe { (gss.display_name)(&mut m, name, &mut shown, ptr::null_mut()) };
            if failed(st) {
                Err(NegotiateError::Other(gss.describe(st, m)))
            } else {
                let principal = String::from_utf8_lossy(&gss.take(&mut shown)).into_owned();
                Ok(Accepted {
                    principal,
                    reply: (!reply.is_empty()).then_some(reply),
                })
            }
        };
        let mut m = 0;
        // SAFETY: handles the acceptance created (null ones are ignored by the library).
        unsafe {
            if !name.is_null() {
                (gss.release_name)(&mut m, &mut name);
            }
            if !ctx.is_null() {
                (gss.delete_sec_context)(&mut m, &mut ctx, ptr::null_mut());
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_a_clear_error() {
        let err = GssAcceptor::with_library(
            "libgssapi_nonexistent.so.9",
            Path::new("/nonexistent.keytab"),
            Path::new("/tmp/rcache"),
        )
        .err()
        .expect("no such library");
        assert!(err.contains("libgssapi-krb5-2"), "{err}");
    }
}
