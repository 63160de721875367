//! `sessiond webhooks`: register, list, show, delete endpoints, rotate their secret, read
//! and replay their dead letters.

use clap::Subcommand;
use reqwest::Method;
use sessiond_api as api;

use crate::client::enc;
use crate::commands::{print_json, signed_in};
use crate::fail::Fail;
use crate::table;
use crate::ClientOpts;

#[derive(Subcommand)]
pub enum WebhooksCmd {
    /// Register an endpoint. Its signing secret is printed once: give it to the receiver
    /// (any Standard Webhooks library verifies the deliveries with it).
    Add {
        /// Where deliveries are POSTed (http:// or https://).
        url: String,
        /// An event to send (repeatable): session.created, session.ended, user.disabled,
        /// user.locked [default: all of them].
        #[arg(long = "event", value_name = "KIND")]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List endpoints and where their deliveries stand.
    List,
    /// Show one endpoint.
    Show { id: String },
    /// Delete an endpoint with its queue and dead letters.
    Delete { id: String },
    /// Give an endpoint a new secret (printed once); the old one keeps signing beside it
    /// for a day, so the receiver can switch without losing a delivery.
    RotateSecret { id: String },
    /// Events an endpoint did not take within the give-up time.
    DeadLetters { id: String },
    /// Queue an endpoint's dead letters again, ahead of newer events.
    Replay { id: String },
}

fn print_webhook(w: &api::WebhookView) {
    println!("Webhook:     {}", w.id);
    println!("URL:         {}", w.url);
    println!("Events:      {}", w.events.join(", "));
    if !w.description.is_empty() {
        println!("Description: {}", w.description);
    }
    println!("Created:     {}", table::time(&w.created_at));
    let s = &w.status;
    println!("Queued:      {}", s.queued);
    println!("Dead:        {}", s.dead_letters);
    if s.failures > 0 {
        println!("Failures:    {} in a row", s.failures);
    }
    if let Some(e) = &s.last_error {
        println!("Last error:  {e}");
    }
    if let Some(t) = &s.retry_at {
        println!("Next try:    {}", table::time(t));
    }
    if let Some(t) = &s.last_delivered_at {
        println!("Delivered:   {}", table::time(t));
    }
}

fn print_secret(w: &api::WebhookWithSecret) {
    println!("Secret:      {}", w.secret);
    println!("(shown only now: give it to the receiver to verify the signatures)");
}

pub async fn run(c: WebhooksCmd, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    let one = |id: &str| format!("/webhooks/{}", enc(id));
    match c {
        WebhooksCmd::Add {
            url,
            events,
            description,
        } => {
            let req = api::WebhookRequest {
                url,
                events,
                description,
            };
            let w: api::WebhookWithSecret = api.call(Method::POST, "/webhooks", Some(&req)).await?;
            if opts.json {
                return print_json(&w);
            }
            print_webhook(&w.webhook);
            print_secret(&w);
        }
        WebhooksCmd::List => {
            let list: api::WebhookList = api.call(Method::GET, "/webhooks", None::<&()>).await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .webhooks
                .iter()
                .map(|w| {
                    vec![
                        w.id.clone(),
                        w.url.clone(),
                        w.events.join(","),
                        w.status.queued.to_string(),
                        w.status.dead_letters.to_string(),
                        table::opt(w.status.last_error.as_deref()),
                    ]
                })
                .collect();
            table::print(
                &["WEBHOOK", "URL", "EVENTS", "QUEUED", "DEAD", "LAST ERROR"],
                &rows,
            );
        }
        WebhooksCmd::Show { id } => {
            let w: api::WebhookView = api.call(Method::GET, &one(&id), None::<&()>).await?;
            if opts.json {
                return print_json(&w);
            }
            print_webhook(&w);
        }
        WebhooksCmd::Delete { id } => {
            api.call_empty(Method::DELETE, &one(&id), None::<&()>)
                .await?;
            println!("Deleted webhook {id}.");
        }
        WebhooksCmd::RotateSecret { id } => {
            let w: api::WebhookWithSecret = api
                .call(
                    Method::POST,
                    &format!("{}/rotate-secret", one(&id)),
                    None::<&()>,
                )
                .await?;
            if opts.json {
                return print_json(&w);
            }
            print_secret(&w);
        }
        WebhooksCmd::DeadLetters { id } => {
            let list: api::DeadLetterList = api
                .call(
                    Method::GET,
                    &format!("{}/dead-letters", one(&id)),
                    None::<&()>,
                )
                .await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .dead_letters
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone(),
                        d.kind.clone(),
                        d.attempts.to_string(),
                        table::time(&d.failed_at),
                        d.last_error.clone(),
                    ]
                })
                .collect();
            table::print(&["ID", "TYPE", "ATTEMPTS", "GIVEN UP", "LAST ERROR"], &rows);
        }
        WebhooksCmd::Replay { id } => {
            let r: api::Replayed = api
                .call(
                    Method::POST,
                    &format!("{}/dead-letters/replay", one(&id)),
                    None::<&()>,
                )
                .await?;
            if opts.json {
                return print_json(&r);
            }
            println!("Queued {} dead letter(s) again.", r.replayed);
        }
    }
    Ok(())
}
