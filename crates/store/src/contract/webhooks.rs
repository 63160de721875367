//! The webhook part of the contract: events written by the engine's triggers with the
//! changes they announce, each endpoint's queue in order, leases, failures, dead letters.

use sessiond_core::model::*;
use sessiond_core::store::{Store, UserUpdate};
use sessiond_core::webhook::{EventKind, FailedAttempt, NewWebhook, WebhookSecret};

use super::{at, insert_session, one_user, session};

fn endpoint(id: &str, kinds: &[EventKind]) -> NewWebhook {
    NewWebhook {
        id: id.to_owned(),
        url: format!("http://127.0.0.1:9/{id}"),
        kinds: kinds.to_vec(),
        description: format!("the {id} endpoint"),
        secret: WebhookSecret::generate().unwrap(),
        created_at: at(0),
    }
}

async fn queued_kinds(store: &dyn Store, endpoint: &str) -> Vec<(String, Option<String>)> {
    store
        .queued_events(endpoint, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(e, _)| (e.kind.to_string(), e.session_id))
        .collect()
}

pub(crate) async fn webhooks_events_only_for_subscribed_kinds_in_change_order(store: &dyn Store) {
    let alice = one_user(store, "alice").await;
    insert_session(store, &session("before", alice.id, at(1))).await;
    assert!(
        store.list_events().await.unwrap().is_empty(),
        "no endpoint, no event"
    );

    let sessions = [EventKind::SessionCreated, EventKind::SessionEnded];
    store
        .insert_webhook(&endpoint("wh_a", &sessions))
        .await
        .unwrap();
    store
        .insert_webhook(&endpoint("wh_b", &[EventKind::SessionEnded]))
        .await
        .unwrap();
    insert_session(store, &session("s1", alice.id, at(10))).await;
    assert!(store
        .end_session("s1", at(20), EndReason::Revoked)
        .await
        .unwrap());
    assert!(!store
        .end_session("s1", at(30), EndReason::Logout)
        .await
        .unwrap());
    store
        .update_user(
            alice.id,
            &UserUpdate {
                enabled: Some(false),
                updated_at: Some(at(40)),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let events = store.list_events().await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let (created, ended) = (&events[0], &events[1]);
    assert!(created.id < ended.id);
    assert_eq!(created.kind, EventKind::SessionCreated);
    assert_eq!(created.at, at(10));
    assert_eq!(created.user_id, Some(alice.id));
    assert_eq!(created.username.as_deref(), Some("alice"));
    assert_eq!(created.session_id.as_deref(), Some("s1"));
    assert_eq!(created.server.as_deref(), Some("srv-1"));
    assert_eq!(created.client.as_deref(), Some("host-a"));
    assert_eq!(created.auth_method.as_deref(), Some("password"));
    assert_eq!(ended.kind, EventKind::SessionEnded);
    assert_eq!(ended.at, at(20));
    assert_eq!(ended.reason.as_deref(), Some("revoked"));
    assert!(created.msg_id.starts_with("msg_") && created.msg_id.len() > 20);
    assert_ne!(created.msg_id, ended.msg_id);

    assert_eq!(
        queued_kinds(store, "wh_a").await,
        [
            ("session.created".to_owned(), Some("s1".to_owned())),
            ("session.ended".to_owned(), Some("s1".to_owned()))
        ]
    );
    assert_eq!(
        queued_kinds(store, "wh_b").await,
        [("session.ended".to_owned(), Some("s1".to_owned()))]
    );
    let listed = store.list_webhooks().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|w| (w.id.as_str(), w.status.queued))
            .collect::<Vec<_>>(),
        [("wh_a", 2), ("wh_b", 1)]
    );
    assert_eq!(listed[0].kinds, sessions);
    assert_eq!(listed[0].description, "the wh_a endpoint");
}

pub(crate) async fn webhooks_user_disabled_and_locked_only_for_existing_users(store: &dyn Store) {
    let alice = one_user(store, "Alice").await;
    store
        .insert_webhook(&endpoint(
            "wh_u",
            &[EventKind::UserDisabled, EventKind::UserLocked],
        ))
        .await
        .unwrap();
    let disable = |enabled| UserUpdate {
        enabled: Some(enabled),
        updated_at: Some(at(5)),
        ..Default::default()
    };
    store.update_user(alice.id, &disable(false)).await.unwrap();
    store.update_user(alice.id, &disable(false)).await.unwrap();
    store.update_user(alice.id, &disable(true)).await.unwrap();
    // Locks are kept by the name as presented, lower-cased.
    store.lock_login("alice", at(100)).await.unwrap();
    store.lock_login("alice", at(100)).await.unwrap();
    store.lock_login("alice", at(200)).await.unwrap();
    store.lock_login("nobody", at(100)).await.unwrap();

    let events = store.list_events().await.unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.username.clone().unwrap_or_default(), e.until))
        .collect();
    assert_eq!(
        seen,
        [
            (EventKind::UserDisabled, "Alice".to_owned(), None),
            (EventKind::UserLocked, "Alice".to_owned(), Some(at(100))),
            (EventKind::UserLocked, "Alice".to_owned(), Some(at(200))),
        ]
    );
    assert_eq!(events[0].at, at(5));
    assert!(events.iter().all(|e| e.user_id == Some(alice.id)));
}

pub(crate) async fn webhooks_lease_delivery_failure_dead_letters_and_replay(store: &dyn Store) {
    let alice = one_user(store, "alice").await;
    store
        .insert_webhook(&endpoint("wh_1", &[EventKind::SessionCreated]))
        .await
        .unwrap();
    assert!(
        store
            .claim_webhooks("a", at(0), at(30))
            .await
            .unwrap()
            .is_empty(),
        "nothing due"
    );
    for (i, id) in ["s1", "s2", "s3"].iter().enumerate() {
        insert_session(store, &session(id, alice.id, at(i as i64))).await;
    }
    let queue = store.queued_events("wh_1", 100).await.unwrap();
    let ids: Vec<i64> = queue.iter().map(|(e, _)| e.id).collect();
    assert_eq!(ids.len(), 3);

    // One node at a time: "b" waits until "a"'s lease runs out.
    let claimed = store.claim_webhooks("a", at(0), at(30)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].status.queued, 3);
    assert!(store
        .claim_webhooks("b", at(10), at(40))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .claim_webhooks("a", at(10), at(40))
            .await
            .unwrap()
            .len(),
        1,
        "renewed"
    );
    assert!(store
        .claim_webhooks("b", at(39), at(69))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .claim_webhooks("b", at(41), at(71))
            .await
            .unwrap()
            .len(),
        1
    );

    store
        .webhook_delivered("wh_1", ids[0], at(42), at(72))
        .await
        .unwrap();
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(
        (w.status.queued, w.status.last_delivered_at),
        (2, Some(at(42)))
    );

    // A failure: counted, retried later, the lease given up.
    let fail = |event_id, now: i64, give_up_before: i64| FailedAttempt {
        event_id,
        at: at(now),
        retry_at: at(now + 10),
        error: "HTTP 503",
        give_up_before: at(give_up_before),
    };
    assert_eq!(
        store
            .webhook_failed("wh_1", &fail(ids[1], 50, -100))
            .await
            .unwrap(),
        0
    );
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(w.status.failures, 1);
    assert_eq!(w.status.retry_at, Some(at(60)));
    assert_eq!(w.status.last_error.as_deref(), Some("HTTP 503"));
    assert!(
        store
            .claim_webhooks("b", at(55), at(85))
            .await
            .unwrap()
            .is_empty(),
        "backing off"
    );
    assert_eq!(
        store
            .claim_webhooks("a", at(60), at(90))
            .await
            .unwrap()
            .len(),
        1
    );

    // Failing for longer than the give-up time: every waiting event goes to the dead letters.
    assert_eq!(
        store
            .webhook_failed("wh_1", &fail(ids[1], 200, 100))
            .await
            .unwrap(),
        2
    );
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(
        (w.status.queued, w.status.dead_letters, w.status.failures),
        (0, 2, 2)
    );
    let dead = store.dead_letters("wh_1").await.unwrap();
    assert_eq!(
        dead.iter()
            .map(|d| (d.event.id, d.attempts))
            .collect::<Vec<_>>(),
        [(ids[1], 2), (ids[2], 0)]
    );
    assert_eq!(dead[0].failed_at, at(200));
    assert_eq!(dead[0].last_error, "HTTP 503");

    // Replayed: queued again in order, back-off cleared.
    assert_eq!(store.replay_dead_letters("wh_1").await.unwrap(), 2);
    let again: Vec<i64> = store
        .queued_events("wh_1", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(e, attempts)| {
            assert_eq!(attempts, 0);
            e.id
        })
        .collect();
    assert_eq!(again, &ids[1..]);
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(
        (w.status.failures, w.status.retry_at, w.status.dead_letters),
        (0, None, 0)
    );
    assert_eq!(
        store
            .claim_webhooks("b", at(201), at(231))
            .await
            .unwrap()
            .len(),
        1
    );
    store.release_webhook("wh_1", "a").await.unwrap();
    assert!(
        store
            .claim_webhooks("a", at(202), at(232))
            .await
            .unwrap()
            .is_empty(),
        "b holds it"
    );
    store.release_webhook("wh_1", "b").await.unwrap();
    assert_eq!(
        store
            .claim_webhooks("a", at(203), at(233))
            .await
            .unwrap()
            .len(),
        1
    );
}

pub(crate) async fn webhooks_rotate_delete_and_purge(store: &dyn Store) {
    let alice = one_user(store, "alice").await;
    let first = endpoint("wh_1", &[EventKind::SessionCreated]);
    let old = first.secret.clone();
    store.insert_webhook(&first).await.unwrap();
    store
        .insert_webhook(&endpoint("wh_2", &[EventKind::SessionCreated]))
        .await
        .unwrap();
    let new = WebhookSecret::generate().unwrap();
    assert!(store
        .rotate_webhook_secret("wh_1", &new, at(99))
        .await
        .unwrap());
    assert!(!store
        .rotate_webhook_secret("wh_none", &new, at(99))
        .await
        .unwrap());
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(w.secret, new);
    assert_eq!(w.previous_secret, Some((old.clone(), at(99))));
    // Kept while it overlaps, forgotten once the overlap is over.
    store.purge_events(at(98), at(0)).await.unwrap();
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(w.previous_secret, Some((old, at(99))));
    store.purge_events(at(100), at(0)).await.unwrap();
    let w = store.get_webhook("wh_1").await.unwrap().unwrap();
    assert_eq!((w.secret, w.previous_secret), (new, None));

    insert_session(store, &session("s1", alice.id, at(1))).await;
    assert_eq!(
        store.purge_events(at(0), at(0)).await.unwrap(),
        0,
        "still queued"
    );
    let (event, _) = store.queued_events("wh_2", 1).await.unwrap().remove(0);
    store
        .webhook_delivered("wh_2", event.id, at(2), at(3))
        .await
        .unwrap();
    assert_eq!(
        store.purge_events(at(0), at(0)).await.unwrap(),
        0,
        "wh_1 still has it"
    );
    assert!(store.delete_webhook("wh_1").await.unwrap());
    assert!(!store.delete_webhook("wh_1").await.unwrap());
    assert_eq!(store.purge_events(at(0), at(0)).await.unwrap(), 1);
    assert!(store.list_events().await.unwrap().is_empty());

    // Dead letters stay until replayed or older than the history.
    insert_session(store, &session("s2", alice.id, at(5))).await;
    let (event, _) = store.queued_events("wh_2", 1).await.unwrap().remove(0);
    let failed = FailedAttempt {
        event_id: event.id,
        at: at(10),
        retry_at: at(11),
        error: "timed out",
        give_up_before: at(10),
    };
    assert_eq!(store.webhook_failed("wh_2", &failed).await.unwrap(), 1);
    assert_eq!(store.purge_events(at(10), at(10)).await.unwrap(), 0);
    assert_eq!(
        store.purge_events(at(11), at(11)).await.unwrap(),
        2,
        "the dead letter and its event"
    );
    assert!(
        store
            .get_webhook("wh_2")
            .await
            .unwrap()
            .unwrap()
            .status
            .dead_letters
            == 0
    );
}
