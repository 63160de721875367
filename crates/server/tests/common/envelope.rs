//! Each product's error envelope, as its clients parse it.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    Native,
    NetSession,
    Qumulo,
    Symphony,
    CommvaultJson,
    CommvaultXml,
    Pam,
}

/// Commvault's `<CVGui_GenericResp errorCode=".." errorMessage=".."/>`.
#[derive(serde::Deserialize)]
struct GenericResp {
    #[serde(rename = "@errorCode")]
    _code: i32,
    #[serde(rename = "@errorMessage")]
    message: String,
}

/// Whether `body` is `shape`'s error envelope for `status`; the reason when it is not.
pub fn check_envelope(shape: Shape, status: u16, ctype: &str, body: &str) -> Result<(), String> {
    if shape == Shape::CommvaultXml {
        if !ctype.starts_with("application/xml") {
            return Err(format!("content-type {ctype:?}"));
        }
        let doc = body
            .split_once("?>")
            .map(|(_, rest)| rest.trim())
            .ok_or("no XML declaration")?;
        if !doc.starts_with("<CVGui_GenericResp ") {
            return Err("the root is not CVGui_GenericResp".into());
        }
        let e: GenericResp = quick_xml::de::from_str(doc).map_err(|e| e.to_string())?;
        if e.message.is_empty() {
            return Err("empty errorMessage".into());
        }
        return Ok(());
    }
    if !ctype.starts_with("application/json") {
        return Err(format!("content-type {ctype:?}"));
    }
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    let ok = match shape {
        Shape::Native => text(&v["error"]["code"]) && text(&v["error"]["message"]),
        Shape::NetSession => {
            v["status"].as_u64().is_some_and(|s| s != 0)
                && v["name"].as_str().is_some_and(|n| {
                    n.starts_with("ERROR_") || n.starts_with("NERR_") || n.starts_with("RPC_")
                })
                && text(&v["message"])
        }
        Shape::Qumulo => {
            v["module"] == "sessiond.qumulo"
                && v["error_class"]
                    .as_str()
                    .is_some_and(|c| c.ends_with("_error"))
                && text(&v["description"])
        }
        Shape::Symphony => v["code"].as_u64() == Some(status as u64) && text(&v["message"]),
        Shape::CommvaultJson => v["errorCode"].is_i64() && text(&v["errorMessage"]),
        Shape::Pam => {
            text(&v["odata.error"]["code"])
                && v["odata.error"]["message"]["lang"] == "en-US"
                && text(&v["odata.error"]["message"]["value"])
        }
        Shape::CommvaultXml => unreachable!(),
    };
    if ok {
        Ok(())
    } else {
        Err("not the product's envelope".into())
    }
}
