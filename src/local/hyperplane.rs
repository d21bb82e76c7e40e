//! Today's VPC networking (Lambda since 2019, "Hyperplane"): one shared ENI per subnet and
//! set of security groups of an account (the Lambda guide, "Giving Lambda functions access to
//! resources in an Amazon VPC": a function on two subnets holds two ENIs; functions that share
//! a subnet and the same security groups share that ENI), created when a function needing it
//! is created or updated (the function is Pending, or its update InProgress, meanwhile),
//! reclaimed when no function uses it (AWS: after weeks idle, the function then Inactive).
//! Each ENI carries a bounded number of connections from the functions into the VPC (AWS
//! documents 65,000; scenarios scale it down to show the effect); an execution holds the
//! connections its behaviour declares, none unless it does, and more than the ENIs carry need
//! another ENI.
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

/// The ENIs of one subnet + security-group set.
#[derive(Debug, Default, Clone, Copy)]
struct Group {
    enis: u32,
    /// Functions set up on it (Active, Pending, or updating to it).
    users: u32,
    /// Connections held through it by executions in flight.
    connections: u32,
}

#[derive(Debug)]
struct Inner {
    quota: u32,
    per_eni: u32,
    ec2: TokenBucket,
    groups: HashMap<String, Group>,
    created: u64,
    /// Uses that end later (a deleted version's), as (server time ms, keys).
    releases: Vec<(i64, Vec<String>)>,
    release_ms: i64,
}

/// The Hyperplane ENIs of one account.
#[derive(Debug)]
pub struct Hyperplane {
    inner: Mutex<Inner>,
    /// How long making one ENI takes, ms.
    pub eni_create_ms: u64,
    /// Connections one ENI carries.
    pub connections_per_eni: u32,
}

/// The ENIs a function's VPC config needs: one per subnet, for its set of security groups
/// (sorted and deduplicated, so equal sets name the same ENIs).
pub(crate) fn enis_of(subnet_ids: &[String], security_group_ids: &[String]) -> Vec<String> {
    let mut groups = security_group_ids.to_vec();
    groups.sort();
    groups.dedup();
    let mut subnets = subnet_ids.to_vec();
    subnets.sort();
    subnets.dedup();
    subnets
        .into_iter()
        .map(|subnet| format!("{subnet}|{}", groups.join(",")))
        .collect()
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
                releases: Vec::new(),
                release_ms: (net.eni_release_s as i64).saturating_mul(1000),
            }),
            eni_create_ms: net.eni_create_ms,
            connections_per_eni: net.connections_per_eni.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A function that was already deployed when the world began uses `keys`: their ENIs
    /// exist (made before, outside the EC2 budget of this run).
    pub(crate) fn existing(&self, keys: &[String]) {
        let mut inner = self.lock();
        for key in keys {
            let g = inner.groups.entry(key.clone()).or_default();
            g.users += 1;
            g.enis = g.enis.max(1);
        }
    }

    /// A deleted version stops using `keys` `eni_release_s` after `now_ms`: its ENIs hold the
    /// quota until then.
    pub(crate) fn release_later(&self, keys: Vec<String>, now_ms: i64) {
        let mut inner = self.lock();
        let at = now_ms.saturating_add(inner.release_ms);
        inner.releases.push((at, keys));
    }

    /// Apply the releases due at `now_ms`.
    pub(crate) fn release_due(&self, now_ms: i64) {
        let due: Vec<Vec<String>> = {
            let mut inner = self.lock();
            let (due, later) = std::mem::take(&mut inner.releases)
                .into_iter()
                .partition(|(at, _)| *at <= now_ms);
            inner.releases = later;
            due.into_iter().map(|(_, keys)| keys).collect()
        };
        for keys in due {
            self.detach(&keys);
        }
    }

    /// A function is created, updated to, or woken up on `keys`: it uses their ENIs, making
    /// those that do not exist, all or none (within the quota, at EC2's pace). `Ok(true)` when
    /// any was made (the caller waits `eni_create_ms`).
    pub(crate) fn attach(&self, keys: &[String], now_ms: i64) -> Result<bool, EniFailure> {
        self.release_due(now_ms);
        let mut inner = self.lock();
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| inner.groups.get(k.as_str()).is_none_or(|g| g.enis == 0))
            .collect();
        inner.make_enis(missing.len() as u32, now_ms)?;
        for key in keys {
            let g = inner.groups.entry(key.clone()).or_default();
            g.users += 1;
            g.enis = g.enis.max(1);
        }
        Ok(!missing.is_empty())
    }

    /// A function no longer uses `keys` (Inactive, or updated away): an ENI no function uses
    /// and no connection holds is reclaimed.
    pub(crate) fn detach(&self, keys: &[String]) {
        let mut inner = self.lock();
        for key in keys {
            if let Some(g) = inner.groups.get_mut(key) {
                g.users = g.users.saturating_sub(1);
                if g.users == 0 && g.connections == 0 {
                    inner.groups.remove(key);
                }
            }
        }
    }

    /// An execution opens `n` connections into the VPC through one of `keys` (its subnets'
    /// ENIs; the one with the most room), past the ENIs' capacity another ENI is made. The key
    /// used and whether an ENI was made.
    pub fn connect(&self, keys: &[String], n: u32, now_ms: i64) -> Result<(String, bool), EniFailure> {
        let mut inner = self.lock();
        let per_eni = inner.per_eni;
        let room = |g: &Group| i64::from(g.enis) * i64::from(per_eni) - i64::from(g.connections);
        let Some(key) = keys
            .iter()
            .max_by_key(|k| inner.groups.get(k.as_str()).map_or(0, room))
            .cloned()
        else {
            return Err(EniFailure::Quota);
        };
        let g = inner.groups.get(&key).copied().unwrap_or_default();
        let needed = (g.connections + n).div_ceil(per_eni);
        let grow = needed.saturating_sub(g.enis);
        inner.make_enis(grow, now_ms)?;
        let g = inner.groups.entry(key.clone()).or_default();
        g.connections += n;
        g.enis += grow;
        Ok((key, grow > 0))
    }

    /// An execution's `n` connections through `key` closed.
    pub(crate) fn disconnect(&self, key: &str, n: u32) {
        let mut inner = self.lock();
        if let Some(g) = inner.groups.get_mut(key) {
            g.connections = g.connections.saturating_sub(n);
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
    /// Make `n` ENIs: within the quota, each an EC2 call at its pace (a throttled call fails
    /// them all; the calls already made are spent).
    fn make_enis(&mut self, n: u32, now_ms: i64) -> Result<(), EniFailure> {
        let held: u32 = self.groups.values().map(|g| g.enis).sum();
        if held.saturating_add(n) > self.quota {
            return Err(EniFailure::Quota);
        }
        for _ in 0..n {
            if !self.ec2.take(now_ms) {
                return Err(EniFailure::Throttled);
            }
        }
        self.created += u64::from(n);
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
                eni_release_s: 60,
            },
            0,
        )
    }

    fn keys(subnets: &[&str], groups: &[&str]) -> Vec<String> {
        let s: Vec<String> = subnets.iter().map(|x| x.to_string()).collect();
        let g: Vec<String> = groups.iter().map(|x| x.to_string()).collect();
        enis_of(&s, &g)
    }

    #[test]
    fn an_eni_per_subnet_shared_by_functions_with_the_same_security_groups() {
        let h = net(10, 100, 1.0, 5);
        let two = keys(&["subnet-b", "subnet-a"], &["sg-2", "sg-1"]);
        assert_eq!(
            two,
            keys(&["subnet-a", "subnet-b"], &["sg-1", "sg-2"]),
            "sets, not lists"
        );
        assert_eq!(h.attach(&two, 0), Ok(true));
        assert_eq!(h.enis(), 2, "a function on two subnets holds two ENIs");
        let one = keys(&["subnet-a"], &["sg-1", "sg-2"]);
        assert_eq!(h.attach(&one, 0), Ok(false), "same subnet, same groups: shared");
        assert_eq!(h.enis(), 2);
        let other = keys(&["subnet-a"], &["sg-3"]);
        assert_eq!(h.attach(&other, 0), Ok(true), "same subnet, other groups: its own");
        assert_eq!(h.enis(), 3);
        h.detach(&two);
        assert_eq!(h.enis(), 2, "subnet-a's is still used");
        h.detach(&one);
        h.detach(&other);
        assert_eq!(h.enis(), 0, "reclaimed when unused");
    }

    #[test]
    fn a_function_needing_more_enis_than_the_quota_leaves_gets_none() {
        let h = net(2, 100, 1000.0, 100);
        assert_eq!(h.attach(&keys(&["s1"], &["sg"]), 0), Ok(true));
        assert_eq!(h.attach(&keys(&["s2", "s3"], &["sg"]), 0), Err(EniFailure::Quota));
        assert_eq!(h.enis(), 1, "all or none");
        assert_eq!(h.attach(&keys(&["s1", "s2"], &["sg"]), 0), Ok(true));
        assert_eq!(h.enis(), 2);
    }

    #[test]
    fn functions_with_the_same_combination_share_one_eni() {
        let h = net(10, 100, 1.0, 5);
        let key = keys(&["subnet-a"], &["sg-1"]);
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
        let k = |name: &str| vec![name.to_string()];
        assert_eq!(h.attach(&k("a"), 0), Ok(true));
        assert_eq!(h.attach(&k("b"), 0), Ok(true));
        assert_eq!(h.attach(&k("c"), 0), Err(EniFailure::Throttled));
        assert_eq!(EniFailure::Throttled.reason_code(), "EC2RequestLimitExceeded");
        let h = net(2, 100, 1000.0, 100);
        assert_eq!(h.attach(&k("a"), 0), Ok(true));
        assert_eq!(h.attach(&k("b"), 0), Ok(true));
        assert_eq!(h.attach(&k("c"), 1), Err(EniFailure::Quota));
        assert_eq!(EniFailure::Quota.reason_code(), "EniLimitExceeded");
    }

    #[test]
    fn connections_past_an_enis_capacity_need_another_eni() {
        let h = net(2, 2, 1000.0, 100);
        let a = vec!["a".to_string()];
        h.existing(&a);
        assert_eq!(h.connect(&a, 1, 0), Ok(("a".into(), false)));
        assert_eq!(h.connect(&a, 1, 0), Ok(("a".into(), false)));
        assert_eq!(
            h.connect(&a, 1, 0),
            Ok(("a".into(), true)),
            "the third connection needs a second ENI"
        );
        assert_eq!(h.enis(), 2);
        assert_eq!(h.connect(&a, 1, 0), Ok(("a".into(), false)));
        assert_eq!(h.connect(&a, 1, 0), Err(EniFailure::Quota));
        assert_eq!(EniFailure::Quota.invoke_error().name(), "ENILimitReachedException");
        h.disconnect("a", 1);
        assert_eq!(h.connect(&a, 1, 0), Ok(("a".into(), false)));
        h.disconnect("a", 4);
        assert_eq!(
            h.connect(&a, 4, 0),
            Ok(("a".into(), false)),
            "one execution's many connections count"
        );
    }
}
