//! What every request of the local endpoint shares: the current world, the scenario a reset
//! returns to, and the serving limits. Its own file so the server and the control API (which
//! resets the world) each use it without naming the other.

use crate::local::scenario::Scenario;
use crate::local::world::World;
use crate::serve::ServeLimits;
use std::sync::{Arc, RwLock};

/// State shared by every request: the current world and the scenario to reset it to.
#[derive(Debug)]
pub struct Shared {
    scenario: Scenario,
    /// The OIDC issuers' signing keys, one set for the server's life: a reset starts the
    /// accounts afresh, not the identity providers, so tokens minted before it still verify.
    issuers: Arc<crate::local::oidc::Issuers>,
    world: RwLock<Arc<World>>,
    pub limits: ServeLimits,
}

impl Shared {
    /// A fresh world for `scenario`.
    #[cfg(test)]
    pub fn new(scenario: Scenario) -> Shared {
        Shared::with_limits(scenario, ServeLimits::default())
    }

    /// A fresh world for `scenario`, served within `limits`.
    pub(crate) fn with_limits(scenario: Scenario, limits: ServeLimits) -> Shared {
        let world = World::new(scenario.clone());
        Shared {
            issuers: Arc::clone(&world.issuers),
            world: RwLock::new(Arc::new(world)),
            scenario,
            limits,
        }
    }

    /// The current world.
    pub fn world(&self) -> Arc<World> {
        Arc::clone(&self.world.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Replace the world with a fresh one (scenario, sessions, faults, clock, counters).
    pub fn reset(&self) {
        let fresh = Arc::new(World::with_issuers(self.scenario.clone(), Arc::clone(&self.issuers)));
        *self.world.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    }
}
