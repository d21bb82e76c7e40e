//! Today's VPC networking (Lambda since 2019, "Hyperplane"): one shared ENI per unique
//! subnet + security-group combination of an account, created when a function with that
//! combination is created or updated (the function is Pending, or its update InProgress,
//! meanwhile), shared by every function with the same combination, reclaimed when no function
//! uses it (AWS: after weeks idle, the function then Inactive). Each ENI serves a bounded
//! number of connections (AWS documents 65,000; scenarios scale it down to show the effect);
//! more executions than that need another ENI.
//!
//! ENIs are made through EC2's API, paced by a token bucket, within the account's quota of
//! Hyperplane ENIs (250 per VPC by default): a burst of creates, updates or wake-ups that
//! needs new ENIs meets `EC2RequestLimitExceeded` or `EniLimitExceeded` (the reason codes
//! AWS gives a function that Failed, or an update that Failed), and an invoke that needs a new
//! ENI for its connection meets `EC2ThrottledException` or `ENILimitReachedException`. Under
//! steady load with enough ENIs nothing fails: that is what changed in 2019.

use crate::local::errors::ApiError;
use crate::local::scenario::Network;
use crate::local::vpc::TokenBucket;
use std::collections::HashMap;
use std::sync::Mutex;

/// Why no ENI could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EniFailure {
    /// The account's Hyperplane ENI quota is used up.
    Quota,
    /// EC2 throttled the ENI calls.
    Throttled,
}

impl EniFailure {
    /// The `StateReasonCode` / `LastUpdateStatusReasonCode` AWS gives a create, update or
    /// wake-up that failed so (botocore's `StateReasonCode` enum).
    pub fn reason_code(self) -> &'static str {
        match self {
            EniFailure::Quota => "EniLimitExceeded",
            EniFailure::Throttled => "EC2RequestLimitExceeded",
        }
    }

    /// The Invoke error of an execution that needed a new ENI and got none.
    pub(crate) fn invoke_error(self) -> ApiError {
        ApiError::named(match self {
            EniFailure::Quota => "ENILimitReachedException",
            EniFailure::Throttled => "EC2ThrottledException",
        })
    }
}

/// The ENIs of one subnet + security-group combination.
#[derive(Debug, Default, Clone, Copy)]
struct Group {
    enis: u32,
    /// Functions set up on it (Active, Pending, or updating to it).
    users: u32,
    /// Executions in flight through it.
    connections: u32,
}

#[derive(Debug)]
struct Inner {
    quota: u32,
    per_eni: u32,
    ec2: TokenBucket,
    groups: HashMap<String, Group>,
    created: u64,
}

/// The Hyperplane ENIs of one account.
#[derive(Debug)]
pub struct Hyperplane {
    inner: Mutex<Inner>,
    /// How long making one ENI takes, ms.
    pub eni_create_ms: u64,
    /// Executions one ENI carries.
    pub connections_per_eni: u32,
}

/// The combination a function's VPC config names: its subnets and security groups, sorted.
pub(crate) fn combination(subnet_ids: &[String], security_group_ids: &[String]) -> String {
    let mut s = subnet_ids.to_vec();
    let mut g = security_group_ids.to_vec();
    s.sort();
    g.sort();
    format!("{}|{}", s.join(","), g.join(","))
}

impl Hyperplane {
    /// No ENIs yet.
    pub fn new(net: &Network, now_ms: i64) -> Hyperplane {
        Hyperplane {
            inner: Mutex::new(Inner {
                quota: net.hyperplane_eni_quota,
                per_eni: net.connections_per_eni.max(1),
                ec2: TokenBucket::new(net.ec2_api_rate, net.ec2_api_burst, now_ms),
                groups: HashMap::new(),
                created: 0,
            }),
            eni_create_ms: net.eni_create_ms,
            connections_per_eni: net.connections_per_eni.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A function that was already deployed when the world began uses `key`: its ENI exists
    /// (made before, outside the EC2 budget of this run).
    pub(crate) fn existing(&self, key: &str) {
        let mut inner = self.lock();
        let g = inner.groups.entry(key.to_string()).or_default();
        g.users += 1;
        g.enis = g.enis.max(1);
    }

    /// A function is created, updated to, or woken up on `key`: use the combination's ENI,
    /// making it when none exists. `Ok(true)` when one was made (the caller waits
    /// `eni_create_ms`).
    pub(crate) fn attach(&self, key: &str, now_ms: i64) -> Result<bool, EniFailure> {
        let mut inner = self.lock();
        let has_eni = inner.groups.get(key).is_some_and(|g| g.enis > 0);
        if !has_eni {
            inner.make_eni(now_ms)?;
        }
        let g = inner.groups.entry(key.to_string()).or_default();
        g.users += 1;
        if !has_eni {
            g.enis = 1;
        }
        Ok(!has_eni)
    }

    /// A function no longer uses `key` (Inactive, or updated away): when none does, its ENIs
    /// are reclaimed.
    pub(crate) fn detach(&self, key: &str) {
        let mut inner = self.lock();
        if let Some(g) = inner.groups.get_mut(key) {
            g.users = g.users.saturating_sub(1);
            if g.users == 0 && g.connections == 0 {
                inner.groups.remove(key);
            }
        }
    }

    /// One more execution through `key`'s ENIs; past their capacity another ENI is made.
    /// `Ok(true)` when one was made.
    pub fn connect(&self, key: &str, now_ms: i64) -> Result<bool, EniFailure> {
        let mut inner = self.lock();
        let per_eni = inner.per_eni;
        let g = inner.groups.get(key).copied().unwrap_or_default();
        let grow = g.connections + 1 > g.enis.saturating_mul(per_eni);
        if grow {
            inner.make_eni(now_ms)?;
        }
        let g = inner.groups.entry(key.to_string()).or_default();
        g.connections += 1;
        if grow {
            g.enis += 1;
        }
        Ok(grow)
    }

    /// One execution through `key` ended.
    pub(crate) fn disconnect(&self, key: &str) {
        let mut inner = self.lock();
        if let Some(g) = inner.groups.get_mut(key) {
            g.connections = g.connections.saturating_sub(1);
            if g.users == 0 && g.connections == 0 {
                inner.groups.remove(key);
            }
        }
    }

    /// ENIs held now.
    pub(crate) fn enis(&self) -> u32 {
        self.lock().groups.values().map(|g| g.enis).sum()
    }

    /// ENIs made since the world began.
    pub fn created(&self) -> u64 {
        self.lock().created
    }
}

impl Inner {
    fn make_eni(&mut self, now_ms: i64) -> Result<(), EniFailure> {
        let held: u32 = self.groups.values().map(|g| g.enis).sum();
        if held >= self.quota {
            return Err(EniFailure::Quota);
        }
        if !self.ec2.take(now_ms) {
            return Err(EniFailure::Throttled);
        }
        self.created += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(quota: u32, per_eni: u32, rate: f64, burst: u32) -> Hyperplane {
        Hyperplane::new(
            &Network {
                hyperplane_eni_quota: quota,
                connections_per_eni: per_eni,
                ec2_api_rate: rate,
                ec2_api_burst: burst,
                eni_create_ms: 100,
            },
            0,
        )
    }

    #[test]
    fn functions_with_the_same_combination_share_one_eni() {
        let h = net(10, 100, 1.0, 5);
        let key = combination(&["subnet-b".into(), "subnet-a".into()], &["sg-1".into()]);
        assert_eq!(
            key,
            combination(&["subnet-a".into(), "subnet-b".into()], &["sg-1".into()])
        );
        assert_eq!(h.attach(&key, 0), Ok(true));
        assert_eq!(h.attach(&key, 0), Ok(false), "shared: no second ENI");
        assert_eq!(h.enis(), 1);
        h.detach(&key);
        assert_eq!(h.enis(), 1, "still used by one function");
        h.detach(&key);
        assert_eq!(h.enis(), 0, "reclaimed when unused");
    }

    #[test]
    fn a_burst_of_new_combinations_meets_ec2s_rate_then_the_quota() {
        let h = net(3, 100, 0.0, 2);
        assert_eq!(h.attach("a", 0), Ok(true));
        assert_eq!(h.attach("b", 0), Ok(true));
        assert_eq!(h.attach("c", 0), Err(EniFailure::Throttled));
        assert_eq!(EniFailure::Throttled.reason_code(), "EC2RequestLimitExceeded");
        let h = net(2, 100, 1000.0, 100);
        assert_eq!(h.attach("a", 0), Ok(true));
        assert_eq!(h.attach("b", 0), Ok(true));
        assert_eq!(h.attach("c", 1), Err(EniFailure::Quota));
        assert_eq!(EniFailure::Quota.reason_code(), "EniLimitExceeded");
    }

    #[test]
    fn connections_past_an_enis_capacity_need_another_eni() {
        let h = net(2, 2, 1000.0, 100);
        h.existing("a");
        assert_eq!(h.connect("a", 0), Ok(false));
        assert_eq!(h.connect("a", 0), Ok(false));
        assert_eq!(h.connect("a", 0), Ok(true), "the third connection needs a second ENI");
        assert_eq!(h.enis(), 2);
        for _ in 0..1 {
            assert_eq!(h.connect("a", 0), Ok(false));
        }
        assert_eq!(h.connect("a", 0), Err(EniFailure::Quota));
        assert_eq!(EniFailure::Quota.invoke_error().name(), "ENILimitReachedException");
        h.disconnect("a");
        assert_eq!(h.connect("a", 0), Ok(false));
    }
}
