//! A stateful PagerDuty for tests and benchmarks: REST API v2 (the parts the
//! provider and the drill use) and the events side (SNS/CloudWatch and Events API
//! v2), behaving like PagerDuty: token auth, error bodies, pagination, rate
//! limits with `ratelimit-*` headers, on-call computed from schedules.
//!
//! Start it in-process with [`Emulator::start`] or as the `pagerduty-emulator`
//! binary. See README.md for the endpoints and the admin API.

mod conn;
mod db;
mod events;
mod layer;
mod maintenance;
pub mod notify;
mod oncall;
mod orchestration;
mod rest;
mod strict;
mod tags;
pub mod tls;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use db::Db;

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The only API token accepted (`Authorization: Token token=<token>`).
    pub token: String,
    /// Seeded users: (name, email).
    pub users: Vec<(String, String)>,
    /// Contact methods and notification rules by user email; a seeded user not
    /// named here gets one email contact method and one immediate high-urgency
    /// rule (`notify::UserSetup::default_for`).
    pub user_setup: std::collections::BTreeMap<String, notify::UserSetup>,
    /// Requests per minute per token before 429s; `None`: no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// The rate limit's window (a minute, as PagerDuty; shorter in tests).
    pub rate_window: Duration,
    /// Added to every request.
    pub latency: Duration,
    /// Fraction of REST requests answered 500 (deterministic sequence).
    pub fail_rate: f64,
    /// Fraction of events (`/integration/{key}/enqueue`, `/v2/enqueue`) answered
    /// 429 or 503 and not processed (deterministic sequence).
    pub events_fail_rate: f64,
    /// Append every exchange as a JSON line here.
    pub record: Option<PathBuf>,
    /// Start the clock here instead of now.
    pub now: Option<DateTime<Utc>>,
    /// Also serve HTTPS on a second port, with a certificate from a fresh test CA
    /// (`Emulator::https_url`, `Emulator::ca_pem`).
    pub tls: bool,
    /// PagerDuty's own rules where the lenient default forgives (README, "Strict
    /// mode"): past layer starts become the request time, layers come back in
    /// PagerDuty's order and are ended rather than removed, unique names, the
    /// membership/team/policy/schedule "still in use" refusals, overlapping
    /// dependency associations answered 500.
    pub strict: bool,
    /// Eventual consistency: for this long after a create, reads of the new object
    /// answer 404 (and lists leave it out); for this long after an object stops
    /// using another, the other still counts as in use. Zero: none.
    pub consistency_delay: Duration,
    /// Fraction of mutating REST requests (POST/PUT/DELETE) that are carried out
    /// but answered 500, or whose connection is cut with no answer.
    pub ambiguous_rate: f64,
    /// Seed of the ambiguous-failure sequence (the same seed, the same requests).
    pub ambiguous_seed: u64,
}

impl Config {
    /// Every strict rule on (`--strict`); no consistency delay and no ambiguous
    /// failures unless set too (`--consistency-delay-ms`, `--ambiguous-rate`).
    pub fn strict() -> Config {
        Config {
            strict: true,
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: "test-token".into(),
            users: vec![
                ("User One".into(), "user1@example.com".into()),
                ("User Two".into(), "user2@example.com".into()),
            ],
            user_setup: Default::default(),
            rate_limit_per_minute: None,
            rate_window: Duration::from_secs(60),
            latency: Duration::ZERO,
            fail_rate: 0.0,
            events_fail_rate: 0.0,
            record: None,
            now: None,
            tls: false,
            strict: false,
            consistency_delay: Duration::ZERO,
            ambiguous_rate: 0.0,
            ambiguous_seed: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

/// Shared by every handler.
pub struct App {
    pub config: Config,
    pub db: Mutex<Db>,
    pub limiter: Mutex<layer::Window>,
    pub faults: Mutex<layer::Faults>,
    pub http: reqwest::Client,
    /// Serialises appends to the record file.
    pub record_lock: Mutex<()>,
    /// REST requests (what the rate limit counts) and those answered 429.
    pub rest_requests: std::sync::atomic::AtomicU64,
    pub rate_limited: std::sync::atomic::AtomicU64,
    /// The ambiguous-failure sequence and what it did.
    pub ambiguous: Mutex<layer::Ambiguous>,
    /// `POST /service_dependencies/associate` in flight (strict mode).
    pub associating: std::sync::atomic::AtomicBool,
    /// Woken when a webhook joins the outbox (shared with every `Db`).
    pub webhooks_waiting: Arc<tokio::sync::Notify>,
}

impl App {
    fn fresh_db(config: &Config, base_url: &str, webhooks: &Arc<tokio::sync::Notify>) -> Db {
        let mut db = Db::new(base_url, &config.users, &config.user_setup);
        db.webhooks_waiting = webhooks.clone();
        db.rules = db::Rules {
            strict: config.strict,
            consistency_delay: config.consistency_delay,
        };
        if let Some(now) = config.now {
            db.clock_offset = now - Utc::now();
        }
        db
    }
}

/// A running emulator; dropping it (or `shutdown`) stops it.
pub struct Emulator {
    addr: SocketAddr,
    https: Option<(SocketAddr, String)>,
    app: Arc<App>,
    stop: Option<watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Listen on `addr` (use port 0 for a free one) in the current tokio runtime.
    pub async fn start(config: Config, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let webhooks_waiting = Arc::new(tokio::sync::Notify::new());
        let app = Arc::new(App {
            db: Mutex::new(App::fresh_db(&config, &base_url, &webhooks_waiting)),
            webhooks_waiting,
            limiter: Mutex::new(layer::Window::default()),
            faults: Mutex::new(
                layer::Faults::new(config.fail_rate, config.latency)
                    .with_events_fail_rate(config.events_fail_rate),
            ),
            record_lock: Mutex::new(()),
            rest_requests: Default::default(),
            rate_limited: Default::default(),
            ambiguous: Mutex::new(layer::Ambiguous::new(
                config.ambiguous_rate,
                config.ambiguous_seed,
            )),
            associating: Default::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            config,
        });
        let router = router(app.clone());
        let (stop, stopped) = watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let mut tasks = vec![tokio::spawn({
            let (router, until_stopped) = (router.clone(), until_stopped.clone());
            // Plain HTTP connections can be cut by an ambiguous failure.
            let listener = conn::CuttableListener::new(listener);
            let service = router.into_make_service_with_connect_info::<conn::Cutter>();
            async move {
                let _ = axum::serve(listener, service)
                    .with_graceful_shutdown(until_stopped())
                    .await;
            }
        })];
        // Webhook deliveries leave from the outbox, never under the state's lock.
        tasks.push(tokio::spawn({
            let (app, until_stopped) = (app.clone(), until_stopped.clone());
            async move {
                let stop = until_stopped();
                tokio::pin!(stop);
                loop {
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = app.webhooks_waiting.notified() => webhooks::deliver(&app).await,
                    }
                }
            }
        }));
        let mut https = None;
        if app.config.tls {
            let certificates = tls::TestCertificates::generate()?;
            let tcp = tokio::net::TcpListener::bind(SocketAddr::new(addr.ip(), 0)).await?;
            https = Some((tcp.local_addr()?, certificates.ca_pem.clone()));
            let listener = tls::TlsListener::new(tcp, &certificates);
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(until_stopped())
                    .await;
            }));
        }
        Ok(Emulator {
            addr,
            https,
            app,
            stop: Some(stop),
            tasks,
        })
    }

    /// `https://127.0.0.1:PORT` when started with `Config::tls`: the same API over
    /// TLS, with a certificate only `ca_pem` vouches for.
    pub fn https_url(&self) -> Option<String> {
        self.https
            .as_ref()
            .map(|(addr, _)| format!("https://{addr}"))
    }

    /// The test CA's certificate (PEM) when started with `Config::tls`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.https.as_ref().map(|(_, pem)| pem.as_str())
    }

    /// `http://127.0.0.1:PORT`: both the REST and the events base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Direct access to the state, for tests that change things out of band.
    pub fn with_db<T>(&self, f: impl FnOnce(&mut Db) -> T) -> T {
        f(&mut self.app.db.lock().expect("db lock"))
    }

    /// Change fault injection while running.
    pub fn set_faults(&self, fail_rate: f64, latency: Duration) {
        *self.app.faults.lock().expect("faults lock") = layer::Faults::new(fail_rate, latency);
    }

    /// Change the fraction of events refused while running.
    pub fn set_events_fail_rate(&self, rate: f64) {
        self.app
            .faults
            .lock()
            .expect("faults lock")
            .events_fail_rate = rate;
    }

    /// Events refused so far by the events fail rate.
    pub fn events_failed(&self) -> u64 {
        self.app.faults.lock().expect("faults lock").events_failed
    }

    /// Requests answered so far (all of them, including 429s and faults).
    pub fn request_count(&self) -> u64 {
        self.app.faults.lock().expect("faults lock").seen
    }

    /// Ambiguous failures so far: (carried out but answered 500, carried out
    /// and cut off with no answer).
    pub fn ambiguous_counts(&self) -> (u64, u64) {
        let a = self.app.ambiguous.lock().expect("ambiguous lock");
        (a.answered_500, a.cut_off)
    }

    /// REST requests so far (events excluded), and how many were answered 429.
    pub fn rest_counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.app.rest_requests.load(Relaxed),
            self.app.rate_limited.load(Relaxed),
        )
    }

    pub async fn shutdown(mut self) {
        self.stop_now().await;
    }

    async fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        // Events side (authenticated by integration key, not token).
        .route("/integration/{key}/enqueue", post(events::sns))
        .route("/v2/enqueue", post(events::v2))
        // REST: links and special endpoints.
        .route("/teams/{id}/members", get(rest::list_members))
        .route(
            "/teams/{id}/users/{user_id}",
            put(rest::put_member).delete(rest::delete_member),
        )
        .route(
            "/services/{id}/integrations",
            post(rest::create_integration),
        )
        .route(
            "/services/{id}/integrations/{integration_id}",
            get(rest::get_integration)
                .put(rest::update_integration)
                .delete(rest::delete_integration),
        )
        .route("/service_dependencies/associate", post(rest::associate))
        .route(
            "/service_dependencies/disassociate",
            post(rest::disassociate),
        )
        .route(
            "/service_dependencies/business_services/{id}",
            get(rest::business_dependencies),
        )
        .route(
            "/service_dependencies/technical_services/{id}",
            get(rest::technical_dependencies),
        )
        .route("/incidents", get(rest::list_incidents))
        .route(
            "/incidents/{id}",
            get(rest::get_incident).put(rest::update_incident),
        )
        .route("/oncalls", get(rest::list_oncalls))
        .route("/users/{id}/contact_methods", get(rest::contact_methods))
        .route(
            "/users/{id}/notification_rules",
            get(rest::notification_rules),
        )
        .route(
            "/users/{id}/notification_rules/{rule}",
            axum::routing::delete(rest::delete_notification_rule),
        )
        .route(
            "/incidents/{id}/log_entries",
            get(rest::incident_log_entries),
        )
        .route("/abilities", get(rest::abilities))
        // Admin API for tests.
        .route("/_emulator/reset", post(rest::admin_reset))
        .route("/_emulator/clock", post(rest::admin_clock))
        .route("/_emulator/state", get(rest::admin_state))
        .route(
            "/maintenance_windows",
            get(maintenance::list).post(maintenance::create),
        )
        .route(
            "/maintenance_windows/{id}",
            get(maintenance::get)
                .put(maintenance::update)
                .delete(maintenance::delete),
        )
        .route(
            "/webhook_subscriptions",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/webhook_subscriptions/{id}",
            get(webhooks::get)
                .put(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/webhook_subscriptions/{id}/ping", post(webhooks::ping))
        .route("/tags", get(tags::list).post(tags::create))
        .route("/tags/{id}", get(tags::get).delete(tags::delete))
        .route("/users/{id}/change_tags", post(tags::change))
        .route("/teams/{id}/change_tags", post(tags::change))
        .route("/escalation_policies/{id}/change_tags", post(tags::change))
        .route("/users/{id}/tags", get(tags::of_entity))
        .route("/teams/{id}/tags", get(tags::of_entity))
        .route("/escalation_policies/{id}/tags", get(tags::of_entity))
        .route(
            "/event_orchestrations/services/{id}",
            get(orchestration::get_path).put(orchestration::put_path),
        )
        .route(
            "/event_orchestrations/services/{id}/active",
            get(orchestration::get_active).put(orchestration::put_active),
        )
        // Plain objects.
        .route(
            "/{collection}",
            get(rest::list_objects).post(rest::create_object),
        )
        .route(
            "/{collection}/{id}",
            get(rest::get_object)
                .put(rest::update_object)
                .delete(rest::delete_object),
        )
        .fallback(rest::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            layer::behave,
        ))
        .with_state(app)
}
