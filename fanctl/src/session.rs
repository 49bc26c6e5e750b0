//! One locked run of fanctl: the lock, a netlink socket and the state.

use anyhow::Result;

use crate::{
    lock::Lock,
    nat::NatRule,
    netlink::Rtnl,
    paths::Paths,
    resource::{Resource, Undo},
    state::State,
};

pub struct Session {
    pub paths: Paths,
    pub rtnl: Rtnl,
    pub state: State,
    _lock: Lock,
}

impl Session {
    pub fn begin(paths: &Paths) -> Result<Session> {
        let lock = Lock::acquire(&paths.lock())?;
        Ok(Session {
            paths: paths.clone(),
            rtnl: Rtnl::open()?,
            state: State::load(&paths.state())?,
            _lock: lock,
        })
    }

    pub fn save(&self) -> Result<()> {
        self.state.save(&self.paths.state())
    }

    /// The NAT rules of every recorded fan except `bridge`.
    pub fn nat_rules_except(&self, bridge: &str) -> Vec<NatRule> {
        self.state
            .fans
            .iter()
            .filter(|f| f.bridge != bridge && f.resources.contains(&Resource::Nat))
            .map(|f| NatRule {
                bridge: f.bridge.clone(),
                slice: f.slice,
                overlay: f.overlay,
            })
            .collect()
    }

    pub fn undo_context(&self, bridge: &str) -> Undo<'_> {
        Undo {
            rtnl: &self.rtnl,
            paths: &self.paths,
            other_nat: self.nat_rules_except(bridge),
        }
    }
}
