//! The GSS-API acceptor (MIT Kerberos through `libgssapi`): the service's credential comes
//! from an explicit keytab, and the replay cache lives in sessiond's data directory, so
//! nothing depends on `KRB5_*` variables and a replayed token is refused.

use std::ffi::CString;
use std::path::Path;
use std::ptr;

use libgssapi::context::{SecurityContext, ServerCtx};
use libgssapi::credential::Cred;
use libgssapi_sys::{
    gss_OID_set, gss_acquire_cred_from, gss_cred_id_t, gss_key_value_element_desc,
    gss_key_value_set_desc, gss_name_t, OM_uint32, _GSS_C_INDEFINITE, GSS_C_ACCEPT,
};

use super::{Accepted, Negotiate, NegotiateError};

pub struct GssAcceptor {
    cred: Cred,
}

impl GssAcceptor {
    /// Acquires an acceptor credential for every principal in `keytab`, with its replay
    /// cache at `rcache`.
    pub fn new(keytab: &Path, rcache: &Path) -> Result<GssAcceptor, String> {
        let key = |s: &str| CString::new(s).map_err(|_| "a path holds a NUL byte".to_owned());
        let (k_keytab, v_keytab) = (key("keytab")?, key(&keytab.display().to_string())?);
        let (k_rcache, v_rcache) = (key("rcache")?, key(&format!("file2:{}", rcache.display()))?);
        let mut elements = [
            gss_key_value_element_desc {
                key: k_keytab.as_ptr(),
                value: v_keytab.as_ptr(),
            },
            gss_key_value_element_desc {
                key: k_rcache.as_ptr(),
                value: v_rcache.as_ptr(),
            },
        ];
        let store = gss_key_value_set_desc {
            count: elements.len() as OM_uint32,
            elements: elements.as_mut_ptr(),
        };
        let mut minor: OM_uint32 = 0;
        let mut cred: gss_cred_id_t = ptr::null_mut();
        // SAFETY: every pointer passed lives until the call returns; `cred` receives a new
        // credential that `Cred::from_c` then owns alone.
        let major = unsafe {
            gss_acquire_cred_from(
                &mut minor,
                ptr::null_mut::<libgssapi_sys::gss_name_struct>() as gss_name_t,
                _GSS_C_INDEFINITE,
                ptr::null_mut::<libgssapi_sys::gss_OID_set_desc>() as gss_OID_set,
                GSS_C_ACCEPT as i32,
                &store,
                &mut cred,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if major & 0xffff_0000 != 0 || cred.is_null() {
            return Err(format!(
                "cannot acquire an acceptor credential from the keytab (GSS major {major:#x}, minor {minor})"
            ));
        }
        // SAFETY: `cred` was just acquired and is owned by nothing else.
        let cred = unsafe { Cred::from_c(cred) };
        Ok(GssAcceptor { cred })
    }
}

impl Negotiate for GssAcceptor {
    fn accept(&self, token: &[u8]) -> Result<Accepted, NegotiateError> {
        let mut ctx = ServerCtx::new(Some(self.cred.clone()));
        let reply = ctx
            .step(token, None)
            .map_err(|e| NegotiateError::Rejected(e.to_string()))?;
        if !ctx.is_complete() {
            return Err(NegotiateError::ContinueNeeded);
        }
        let principal = ctx
            .source_name()
            .map_err(|e| NegotiateError::Other(e.to_string()))?
            .to_string();
        Ok(Accepted {
            principal,
            reply: reply.map(|b| b.to_vec()),
        })
    }
}
