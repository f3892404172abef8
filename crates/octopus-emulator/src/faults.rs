//! Injected faults: seeded random 500/503/429 answers, writes that commit and then drop the
//! connection, and a budget of writes after which the server refuses every write; and a report
//! of every rule armed and how often it fired.

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::reply::{ApiError, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    InternalError,
    Unavailable,
    TooManyRequests,
}

impl Fault {
    pub fn reply(self) -> Reply {
        match self {
            Fault::InternalError => ApiError::internal(
                "System.TimeoutException: The operation has timed out. (fault injected by the Octopus emulator)",
            )
            .into(),
            Fault::Unavailable => unavailable(),
            Fault::TooManyRequests => Reply::json(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"ErrorMessage": "Too many requests. Please try again later.", "Errors": []}),
            )
            .with_header("retry-after", "1"),
        }
    }
}

/// What a proxy answers in place of a committed write's real answer.
pub fn lost_answer_reply(status: u16) -> Reply {
    match StatusCode::from_u16(status) {
        Ok(StatusCode::SERVICE_UNAVAILABLE) | Err(_) => unavailable(),
        Ok(StatusCode::TOO_MANY_REQUESTS) => Fault::TooManyRequests.reply(),
        Ok(status) => ApiError::with_status(
            status,
            "The upstream server did not answer in time. (fault injected by the Octopus emulator after the write committed)",
        )
        .into(),
    }
}

pub fn unavailable() -> Reply {
    ApiError::with_status(
        StatusCode::SERVICE_UNAVAILABLE,
        "The Octopus Server is currently unavailable. Please try again later.",
    )
    .into()
}

/// How the answer to a committed write is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostAnswer {
    /// The connection closes with no answer (a crash or a network cut after the commit).
    Drop,
    /// An error status instead of the real answer: a load balancer or proxy in front of a real
    /// server answers 502/503/504 when the backend was slow, though the backend committed.
    /// (Real-server behaviour: Octopus's own HA docs put servers behind load balancers with
    /// request timeouts; no source says a commit is rolled back when the proxy gives up.)
    Status(u16),
}

/// One fault rule as the emulator reports it: what it does, how many shots it was armed with
/// (`None`: until cleared) and how many times it fired. A test that arms a rule asserts it fired,
/// or the code path it meant to exercise may never have run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What the rule does, e.g. `POST …/environments: commits, then the connection drops`.
    pub rule: String,
    /// The shots it was armed with; `None` for a rule that holds until cleared.
    pub shots: Option<usize>,
    /// How many requests it changed.
    pub fired: usize,
}

impl std::fmt::Display for FaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.shots {
            Some(shots) => write!(f, "{} (fired {} of {shots})", self.rule, self.fired),
            None => write!(f, "{} (fired {})", self.rule, self.fired),
        }
    }
}

/// A rule with a number of shots, matched by method and a path fragment.
#[derive(Debug)]
struct ShotRule {
    method: String,
    path_contains: String,
    shots: usize,
    fired: usize,
    lost: LostAnswer,
    /// What happens to a matching request, for the report.
    effect: String,
}

impl ShotRule {
    fn new(
        method: &str,
        path_contains: &str,
        shots: usize,
        lost: LostAnswer,
        effect: String,
    ) -> Self {
        ShotRule {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_ascii_lowercase(),
            shots,
            fired: 0,
            lost,
            effect,
        }
    }

    fn report(&self) -> FaultRule {
        FaultRule {
            rule: format!("{} …{}: {}", self.method, self.path_contains, self.effect),
            shots: Some(self.shots),
            fired: self.fired,
        }
    }
}

/// Requests the key's user has no permission for, from the time the rule is armed.
#[derive(Debug)]
struct Denial {
    method: String,
    path_contains: String,
    permission: String,
    fired: usize,
}

/// The write budget of [`Faults::fail_writes_after`].
#[derive(Debug)]
struct WriteBudget {
    armed: usize,
    left: usize,
    refused: usize,
}

#[derive(Debug)]
pub struct Faults {
    rate: f64,
    seed: u64,
    rng: StdRng,
    /// Random faults drawn since the rate was last set.
    random_fired: usize,
    drops: Vec<ShotRule>,
    write_budget: Option<WriteBudget>,
    /// PUTs before which another writer commits to the same document first.
    concurrent_edits: Vec<ShotRule>,
    /// Requests answered with an error status before anything is changed.
    refusals: Vec<ShotRule>,
    denials: Vec<Denial>,
    /// Rules cleared or replaced, kept for the report: a rule cleared before it fired still
    /// never fired.
    retired: Vec<FaultRule>,
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            seed,
            rng: StdRng::seed_from_u64(seed),
            random_fired: 0,
            drops: Vec::new(),
            write_budget: None,
            concurrent_edits: Vec::new(),
            refusals: Vec::new(),
            denials: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// Restart the random sequence: the same seed and requests give the same faults.
    pub fn set_rate(&mut self, rate: f64, seed: u64) {
        self.retired.extend(self.random_report());
        self.rate = rate;
        self.seed = seed;
        self.rng = StdRng::seed_from_u64(seed);
        self.random_fired = 0;
    }

    /// With probability `rate`, one of the three faults, uniformly.
    pub fn draw(&mut self) -> Option<Fault> {
        if self.rate <= 0.0 || self.rng.gen::<f64>() >= self.rate {
            return None;
        }
        self.random_fired += 1;
        Some(match self.rng.gen_range(0..3) {
            0 => Fault::InternalError,
            1 => Fault::Unavailable,
            _ => Fault::TooManyRequests,
        })
    }

    pub fn arm_drop(&mut self, method: &str, path_contains: &str, times: usize) {
        self.arm_lost_answer(method, path_contains, times, LostAnswer::Drop);
    }

    /// The next `times` committed writes matching `method` and `path_contains` lose their answer.
    pub fn arm_lost_answer(
        &mut self,
        method: &str,
        path_contains: &str,
        times: usize,
        lost: LostAnswer,
    ) {
        let effect = match lost {
            LostAnswer::Drop => "commits, then the connection drops".to_owned(),
            LostAnswer::Status(status) => format!("commits, then is answered {status}"),
        };
        self.drops
            .push(ShotRule::new(method, path_contains, times, lost, effect));
    }

    /// How this committed write loses its response, if it must; uses up one shot of the rule.
    pub fn take_drop(&mut self, method: &str, path: &str) -> Option<LostAnswer> {
        take_shot(&mut self.drops, method, path)
    }

    /// The next `times` PUTs whose path contains `path_contains` are each preceded by another
    /// writer's commit to the same document, so they carry a stale `Version`.
    pub fn arm_concurrent_edit(&mut self, path_contains: &str, times: usize) {
        self.concurrent_edits.push(ShotRule::new(
            "PUT",
            path_contains,
            times,
            LostAnswer::Drop,
            "another writer commits first".to_owned(),
        ));
    }

    /// Whether another writer commits before this request; uses up one shot of the rule.
    pub fn take_concurrent_edit(&mut self, method: &str, path: &str) -> bool {
        take_shot(&mut self.concurrent_edits, method, path).is_some()
    }

    /// The next `times` requests matching `method` and `path_contains` are answered `status`
    /// before anything is changed (a server that is briefly unavailable).
    pub fn arm_refusal(&mut self, method: &str, path_contains: &str, times: usize, status: u16) {
        self.refusals.push(ShotRule::new(
            method,
            path_contains,
            times,
            LostAnswer::Status(status),
            format!("refused {status} before anything changes"),
        ));
    }

    /// From now on, requests matching `method` and `path_contains` lack `permission`.
    pub fn deny(&mut self, method: &str, path_contains: &str, permission: &str) {
        self.denials.push(Denial {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_ascii_lowercase(),
            permission: permission.to_owned(),
            fired: 0,
        });
    }

    /// The 403 a real server answers when the key's user lacks a permission. Its text, word for
    /// word: OctopusDeploy/Issues#9197 and #7181, OctopusDeploy/OctopusClients#391.
    pub fn denial(&mut self, method: &str, path: &str) -> Option<Reply> {
        let path = path.to_ascii_lowercase();
        let denial = self.denials.iter_mut().find(|denial| {
            denial.method.eq_ignore_ascii_case(method) && path.contains(&denial.path_contains)
        })?;
        denial.fired += 1;
        let message = format!(
            "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: {}",
            denial.permission
        );
        Some(Reply::json(
            StatusCode::FORBIDDEN,
            json!({"ErrorMessage": message, "Errors": [message], "ParsedHelpLinks": [], "DetailLinks": []}),
        ))
    }

    /// The refusal for this request, if one is armed; uses up one shot of the rule.
    pub fn take_refusal(&mut self, method: &str, path: &str) -> Option<Reply> {
        match take_shot(&mut self.refusals, method, path)? {
            LostAnswer::Status(status) => Some(lost_answer_reply(status)),
            LostAnswer::Drop => None,
        }
    }

    pub fn fail_writes_after(&mut self, n: usize) {
        self.retired.extend(self.budget_report());
        self.write_budget = Some(WriteBudget {
            armed: n,
            left: n,
            refused: 0,
        });
    }

    /// Take one write from the budget before the write runs, so writes sent at once cannot all
    /// pass a check made before any of them is counted. `Err` when the budget is spent; `Ok(true)`
    /// when a slot was taken (give it back with [`Faults::refund_write`] if the write fails).
    pub fn reserve_write(&mut self) -> Result<bool, ()> {
        match &mut self.write_budget {
            None => Ok(false),
            Some(budget) if budget.left == 0 => {
                budget.refused += 1;
                Err(())
            }
            Some(budget) => {
                budget.left -= 1;
                Ok(true)
            }
        }
    }

    /// A reserved write that did not commit gives its slot back.
    pub fn refund_write(&mut self) {
        if let Some(budget) = &mut self.write_budget {
            budget.left += 1;
        }
    }

    pub fn clear(&mut self) {
        let current = self.report_current();
        self.retired.extend(current);
        self.rate = 0.0;
        self.random_fired = 0;
        self.drops.clear();
        self.write_budget = None;
        self.concurrent_edits.clear();
        self.refusals.clear();
        self.denials.clear();
    }

    /// Every rule armed since the emulator started, cleared ones included, in the order armed
    /// within each kind.
    pub fn report(&self) -> Vec<FaultRule> {
        let mut rules = self.retired.clone();
        rules.extend(self.report_current());
        rules
    }

    fn report_current(&self) -> Vec<FaultRule> {
        let mut rules: Vec<FaultRule> = self.random_report().into_iter().collect();
        rules.extend(
            self.drops
                .iter()
                .chain(&self.concurrent_edits)
                .chain(&self.refusals)
                .map(ShotRule::report),
        );
        rules.extend(self.denials.iter().map(|denial| FaultRule {
            rule: format!(
                "{} …{}: denied, missing permission {}",
                denial.method, denial.path_contains, denial.permission
            ),
            shots: None,
            fired: denial.fired,
        }));
        rules.extend(self.budget_report());
        rules
    }

    fn random_report(&self) -> Option<FaultRule> {
        (self.rate > 0.0).then(|| FaultRule {
            rule: format!(
                "random 500/503/429 at rate {} (seed {})",
                self.rate, self.seed
            ),
            shots: None,
            fired: self.random_fired,
        })
    }

    fn budget_report(&self) -> Option<FaultRule> {
        self.write_budget.as_ref().map(|budget| FaultRule {
            rule: format!("every write after the first {} refused 503", budget.armed),
            shots: None,
            fired: budget.refused,
        })
    }
}

/// The first rule with shots left that matches the request, with one shot used up.
fn take_shot(rules: &mut [ShotRule], method: &str, path: &str) -> Option<LostAnswer> {
    let path = path.to_ascii_lowercase();
    let rule = rules.iter_mut().find(|r| {
        r.fired < r.shots
            && r.method.eq_ignore_ascii_case(method)
            && path.contains(&r.path_contains)
    })?;
    rule.fired += 1;
    Some(rule.lost)
}
