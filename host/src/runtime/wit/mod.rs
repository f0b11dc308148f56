//! The WIT contract, one module per version, as Zed does for its extensions:
//! [`latest`] binds `wit/*.wit` and holds the host's implementation;
//! each frozen version (`wit/since_vX.Y.Z/`, bound in `since_vX_Y_Z.rs`)
//! converts its calls into the latest's. [`GuestApi`] dispatches a guest's
//! exports on the version it was built against.
//!
//! To change the contract: copy `wit/*.wit` to `wit/since_v<current>/` (frozen
//! from then on), add a `since_v…` module binding it the way
//! [`since_v0_2_0`] does (the shared parts are in [`convert`]), add its variant to [`GuestApi`] and [`VERSIONS`], then
//! bump the package version in `wit/*.wit` and change it.

pub mod convert;
pub mod latest;
pub mod since_v0_1_0;
pub mod since_v0_2_0;
pub mod since_v0_3_0;
pub mod since_v0_4_0;
pub mod since_v0_5_0;
pub mod since_v0_6_0;

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use blueprint_sandbox::Sandbox;

use super::GuestState;

pub use latest::{GuestInfo, LogLevel, aws, blueprints, host, pagerduty};

/// The package every version belongs to.
pub const WIT_PACKAGE: &str = "blueprint:cloud";

/// The latest version: what `wit/*.wit` declares and new guests are built for.
pub const WIT_VERSION: &str = "0.7.0";

/// Every version this host runs, oldest first.
pub const VERSIONS: &[&str] = &[
    since_v0_1_0::VERSION,
    since_v0_2_0::VERSION,
    since_v0_3_0::VERSION,
    since_v0_4_0::VERSION,
    since_v0_5_0::VERSION,
    since_v0_6_0::VERSION,
    WIT_VERSION,
];

/// Which bindings a guest's version maps to: `0.x.y` guests run on the bindings
/// of `0.x.*` (for 0.x the minor version is the breaking one, as in Cargo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V0_1,
    V0_2,
    V0_3,
    V0_4,
    V0_5,
    V0_6,
    Latest,
}

impl Version {
    /// The bindings for a guest built against `version`, if this host has them.
    pub fn of(version: &str) -> Option<Version> {
        let minor = |v: &str| -> Option<(u64, u64)> {
            let mut it = v.split(['.', '-', '+']);
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        };
        let wanted = minor(version)?;
        if wanted == minor(since_v0_1_0::VERSION)? {
            Some(Version::V0_1)
        } else if wanted == minor(since_v0_2_0::VERSION)? {
            Some(Version::V0_2)
        } else if wanted == minor(since_v0_3_0::VERSION)? {
            Some(Version::V0_3)
        } else if wanted == minor(since_v0_4_0::VERSION)? {
            Some(Version::V0_4)
        } else if wanted == minor(since_v0_5_0::VERSION)? {
            Some(Version::V0_5)
        } else if wanted == minor(since_v0_6_0::VERSION)? {
            Some(Version::V0_6)
        } else if wanted == minor(WIT_VERSION)? {
            Some(Version::Latest)
        } else {
            None
        }
    }
}

/// Link every version's imports (their interface names carry the version, so
/// they never collide).
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    latest::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    since_v0_1_0::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    since_v0_2_0::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    since_v0_3_0::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    since_v0_4_0::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    since_v0_5_0::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    since_v0_6_0::Guest::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)?;
    Ok(())
}

/// A guest's exports, whatever version it speaks; answers in the latest's types.
pub enum GuestApi {
    V0_1(since_v0_1_0::Guest),
    V0_2(since_v0_2_0::Guest),
    V0_3(since_v0_3_0::Guest),
    V0_4(since_v0_4_0::Guest),
    V0_5(since_v0_5_0::Guest),
    V0_6(since_v0_6_0::Guest),
    Latest(latest::Guest),
}

impl GuestApi {
    pub async fn instantiate(
        version: Version,
        store: &mut Store<Sandbox>,
        component: &Component,
        linker: &Linker<Sandbox>,
    ) -> wasmtime::Result<GuestApi> {
        Ok(match version {
            Version::V0_1 => GuestApi::V0_1(
                since_v0_1_0::Guest::instantiate_async(store, component, linker).await?,
            ),
            Version::V0_2 => GuestApi::V0_2(
                since_v0_2_0::Guest::instantiate_async(store, component, linker).await?,
            ),
            Version::V0_3 => GuestApi::V0_3(
                since_v0_3_0::Guest::instantiate_async(store, component, linker).await?,
            ),
            Version::V0_4 => GuestApi::V0_4(
                since_v0_4_0::Guest::instantiate_async(store, component, linker).await?,
            ),
            Version::V0_5 => GuestApi::V0_5(
                since_v0_5_0::Guest::instantiate_async(store, component, linker).await?,
            ),
            Version::V0_6 => GuestApi::V0_6(
                since_v0_6_0::Guest::instantiate_async(store, component, linker).await?,
            ),
            Version::Latest => {
                GuestApi::Latest(latest::Guest::instantiate_async(store, component, linker).await?)
            }
        })
    }

    pub async fn info(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<GuestInfo> {
        match self {
            GuestApi::V0_1(g) => g
                .blueprint_cloud_blueprint()
                .call_info(store)
                .await
                .map(convert::upgrade),
            GuestApi::V0_2(g) => g
                .blueprint_cloud_blueprint()
                .call_info(store)
                .await
                .map(convert::upgrade),
            GuestApi::V0_3(g) => g
                .blueprint_cloud_blueprint()
                .call_info(store)
                .await
                .map(convert::upgrade),
            GuestApi::V0_4(g) => g
                .blueprint_cloud_blueprint()
                .call_info(store)
                .await
                .map(convert::upgrade),
            GuestApi::V0_5(g) => g
                .blueprint_cloud_blueprint()
                .call_info(store)
                .await
                .map(convert::upgrade),
            GuestApi::V0_6(g) => g
                .blueprint_cloud_blueprint()
                .call_info(store)
                .await
                .map(convert::upgrade),
            GuestApi::Latest(g) => g.blueprint_cloud_blueprint().call_info(store).await,
        }
    }

    pub async fn params_schema(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<String> {
        match self {
            GuestApi::V0_1(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
            GuestApi::V0_2(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
            GuestApi::V0_3(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
            GuestApi::V0_4(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
            GuestApi::V0_5(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
            GuestApi::V0_6(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
            GuestApi::Latest(g) => {
                g.blueprint_cloud_blueprint()
                    .call_params_schema(store)
                    .await
            }
        }
    }

    pub async fn run(
        &self,
        store: &mut Store<Sandbox>,
        params: &str,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            GuestApi::V0_1(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
            GuestApi::V0_2(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
            GuestApi::V0_3(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
            GuestApi::V0_4(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
            GuestApi::V0_5(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
            GuestApi::V0_6(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
            GuestApi::Latest(g) => g.blueprint_cloud_blueprint().call_run(store, params).await,
        }
    }
}
