//! The VPC model of a function in `per_environment` mode (Lambda before 2019): every
//! execution environment holds its own ENI and subnet IP, created through a rate-limited EC2
//! API. Under a concurrency spike the three failures of the mission emerge on their own: the
//! EC2 token bucket runs dry (EC2ThrottledException), the ENI quota fills
//! (ENILimitReachedException), the subnets run out of addresses
//! (SubnetIPAddressLimitReachedException). Idle environments are kept warm and reused, and
//! give their ENI back after an idle time.

use crate::local::errors::ApiError;
use crate::local::scenario::Vpc;

/// A token bucket refilled continuously at `rate` per second up to `burst`.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate_per_ms: f64,
    burst: f64,
    tokens: f64,
    last_ms: i64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_s: f64, burst: u32, now_ms: i64) -> TokenBucket {
        TokenBucket {
            rate_per_ms: rate_per_s / 1000.0,
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last_ms: now_ms,
        }
    }

    /// Take one token if there is one.
    pub fn take(&mut self, now_ms: i64) -> bool {
        let elapsed = (now_ms - self.last_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * self.rate_per_ms).min(self.burst);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// An execution environment holding one ENI with one IP of `subnet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Environment {
    /// Index of its subnet.
    pub subnet: usize,
    idle_since_ms: i64,
}

/// Why a new environment could not be set up: the EC2 condition behind each Lambda error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetupFailure {
    /// `Client.RequestLimitExceeded`.
    Ec2Throttled,
    /// `Client.NetworkInterfaceLimitExceeded`.
    EniLimit,
    /// No free address in any subnet.
    SubnetFull,
}

impl SetupFailure {
    /// The Invoke error Lambda answers with.
    pub(crate) fn to_api_error(self) -> ApiError {
        ApiError::named(match self {
            SetupFailure::Ec2Throttled => "EC2ThrottledException",
            SetupFailure::EniLimit => "ENILimitReachedException",
            SetupFailure::SubnetFull => "SubnetIPAddressLimitReachedException",
        })
    }
}

/// The environments of one function and the EC2 resources they hold.
#[derive(Debug)]
pub struct EnvironmentPool {
    idle: Vec<Environment>,
    enis_in_use: u32,
    eni_quota: u32,
    free_ips: Vec<u32>,
    ec2_api: TokenBucket,
    env_idle_ms: i64,
    cold_starts: u64,
}

impl EnvironmentPool {
    /// An empty pool for `vpc`.
    pub fn new(vpc: &Vpc, now_ms: i64) -> EnvironmentPool {
        EnvironmentPool {
            idle: Vec::new(),
            enis_in_use: 0,
            eni_quota: vpc.eni_quota,
            free_ips: vec![vpc.free_ips_per_subnet; vpc.subnet_ids.len().max(1)],
            ec2_api: TokenBucket::new(vpc.ec2_api_rate, vpc.ec2_api_burst, now_ms),
            env_idle_ms: (vpc.env_idle_s as i64).saturating_mul(1000),
            cold_starts: 0,
        }
    }

    /// Give back the ENIs of environments idle for too long.
    fn reap(&mut self, now_ms: i64) {
        let limit = self.env_idle_ms;
        let (free_ips, enis) = (&mut self.free_ips, &mut self.enis_in_use);
        self.idle.retain(|env| {
            let keep = now_ms - env.idle_since_ms < limit;
            if !keep {
                free_ips[env.subnet] += 1;
                *enis -= 1;
            }
            keep
        });
    }

    /// A warm environment, or a new one (`true` = cold: the caller waits `eni_setup_ms`).
    pub(crate) fn acquire(&mut self, now_ms: i64) -> Result<(Environment, bool), SetupFailure> {
        self.reap(now_ms);
        if let Some(env) = self.idle.pop() {
            return Ok((env, false));
        }
        if !self.ec2_api.take(now_ms) {
            return Err(SetupFailure::Ec2Throttled);
        }
        if self.enis_in_use >= self.eni_quota {
            return Err(SetupFailure::EniLimit);
        }
        let Some((subnet, _)) = self
            .free_ips
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .max_by_key(|(_, &n)| n)
        else {
            return Err(SetupFailure::SubnetFull);
        };
        self.free_ips[subnet] -= 1;
        self.enis_in_use += 1;
        self.cold_starts += 1;
        Ok((
            Environment {
                subnet,
                idle_since_ms: now_ms,
            },
            true,
        ))
    }

    /// Return an environment after its invoke: it stays warm for reuse.
    pub fn release(&mut self, mut env: Environment, now_ms: i64) {
        env.idle_since_ms = now_ms;
        self.idle.push(env);
    }

    /// Give back an environment whose setup was abandoned.
    pub(crate) fn discard(&mut self, env: Environment) {
        self.free_ips[env.subnet] += 1;
        self.enis_in_use = self.enis_in_use.saturating_sub(1);
    }

    /// ENIs currently held.
    pub fn enis_in_use(&mut self, now_ms: i64) -> u32 {
        self.reap(now_ms);
        self.enis_in_use
    }

    /// Environments created so far.
    pub fn cold_starts(&self) -> u64 {
        self.cold_starts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc(quota: u32, ips: u32, subnets: usize, rate: f64, burst: u32) -> Vpc {
        let text = format!(
            "subnet_ids = {:?}\neni_mode = \"per_environment\"\neni_quota = {quota}\nfree_ips_per_subnet = {ips}\nec2_api_rate = {rate:.1}\nec2_api_burst = {burst}\nenv_idle_s = 10",
            (0..subnets).map(|i| format!("subnet-{i}")).collect::<Vec<_>>()
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn bucket_refills_at_its_rate_up_to_burst() {
        let mut b = TokenBucket::new(10.0, 2, 0);
        assert!(b.take(0) && b.take(0));
        assert!(!b.take(0));
        assert!(!b.take(50));
        assert!(b.take(100));
        assert!(b.take(10_000) && b.take(10_000) && !b.take(10_000));
    }

    #[test]
    fn each_failure_emerges_from_its_own_limit() {
        let cases = [
            (vpc(100, 100, 2, 0.0, 3), SetupFailure::Ec2Throttled, 3),
            (vpc(2, 100, 2, 0.0, 100), SetupFailure::EniLimit, 2),
            (vpc(100, 2, 2, 0.0, 100), SetupFailure::SubnetFull, 4),
        ];
        for (v, failure, ok) in cases {
            let mut pool = EnvironmentPool::new(&v, 0);
            for _ in 0..ok {
                assert!(pool.acquire(0).unwrap().1);
            }
            assert_eq!(pool.acquire(0), Err(failure));
        }
    }

    #[test]
    fn warm_environments_are_reused_then_released_when_idle() {
        let mut pool = EnvironmentPool::new(&vpc(1, 1, 1, 0.0, 1), 0);
        let (env, cold) = pool.acquire(0).unwrap();
        assert!(cold);
        pool.release(env, 100);
        let (env, cold) = pool.acquire(200).unwrap();
        assert!(!cold);
        pool.release(env, 300);
        assert_eq!(pool.enis_in_use(300), 1);
        assert_eq!(pool.enis_in_use(10_400), 0);
    }
}
