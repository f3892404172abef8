//! Injected faults: seeded random 500/503/429 answers, writes that commit and then drop the
//! connection, and a budget of writes after which the server refuses every write.

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
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

#[derive(Debug)]
struct DropRule {
    method: String,
    path_contains: String,
    remaining: usize,
    lost: LostAnswer,
}

#[derive(Debug)]
pub struct Faults {
    rate: f64,
    rng: StdRng,
    drops: Vec<DropRule>,
    /// Committed writes still allowed; `None` = unlimited.
    write_budget: Option<usize>,
    /// PUTs before which another writer commits to the same document first.
    concurrent_edits: Vec<DropRule>,
    /// Requests answered with an error status before anything is changed.
    refusals: Vec<DropRule>,
    /// (method, path fragment, permission): requests the key's user has no permission for.
    denials: Vec<(String, String, String)>,
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            rng: StdRng::seed_from_u64(seed),
            drops: Vec::new(),
            write_budget: None,
            concurrent_edits: Vec::new(),
            refusals: Vec::new(),
            denials: Vec::new(),
        }
    }

    /// Restart the random sequence: the same seed and requests give the same faults.
    pub fn set_rate(&mut self, rate: f64, seed: u64) {
        self.rate = rate;
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// With probability `rate`, one of the three faults, uniformly.
    pub fn draw(&mut self) -> Option<Fault> {
        if self.rate <= 0.0 || self.rng.gen::<f64>() >= self.rate {
            return None;
        }
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
        self.drops.push(DropRule {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_ascii_lowercase(),
            remaining: times,
            lost,
        });
    }

    /// How this committed write loses its response, if it must; uses up one shot of the rule.
    pub fn take_drop(&mut self, method: &str, path: &str) -> Option<LostAnswer> {
        take_shot(&mut self.drops, method, path)
    }

    /// The next `times` PUTs whose path contains `path_contains` are each preceded by another
    /// writer's commit to the same document, so they carry a stale `Version`.
    pub fn arm_concurrent_edit(&mut self, path_contains: &str, times: usize) {
        self.concurrent_edits.push(DropRule {
            method: "PUT".into(),
            path_contains: path_contains.to_ascii_lowercase(),
            remaining: times,
            lost: LostAnswer::Drop,
        });
    }

    /// Whether another writer commits before this request; uses up one shot of the rule.
    pub fn take_concurrent_edit(&mut self, method: &str, path: &str) -> bool {
        take_shot(&mut self.concurrent_edits, method, path).is_some()
    }

    /// The next `times` requests matching `method` and `path_contains` are answered `status`
    /// before anything is changed (a server that is briefly unavailable).
    pub fn arm_refusal(&mut self, method: &str, path_contains: &str, times: usize, status: u16) {
        self.refusals.push(DropRule {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_ascii_lowercase(),
            remaining: times,
            lost: LostAnswer::Status(status),
        });
    }

    /// From now on, requests matching `method` and `path_contains` lack `permission`.
    pub fn deny(&mut self, method: &str, path_contains: &str, permission: &str) {
        self.denials.push((
            method.to_ascii_uppercase(),
            path_contains.to_ascii_lowercase(),
            permission.to_owned(),
        ));
    }

    /// The 403 a real server answers when the key's user lacks a permission. Its text, word for
    /// word: OctopusDeploy/Issues#9197 and #7181, OctopusDeploy/OctopusClients#391.
    pub fn denial(&self, method: &str, path: &str) -> Option<Reply> {
        let path = path.to_ascii_lowercase();
        let (_, _, permission) = self
            .denials
            .iter()
            .find(|(m, fragment, _)| m.eq_ignore_ascii_case(method) && path.contains(fragment))?;
        let message = format!(
            "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: {permission}"
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
        self.write_budget = Some(n);
    }

    /// Take one write from the budget before the write runs, so writes sent at once cannot all
    /// pass a check made before any of them is counted. `Err` when the budget is spent; `Ok(true)`
    /// when a slot was taken (give it back with [`Faults::refund_write`] if the write fails).
    pub fn reserve_write(&mut self) -> Result<bool, ()> {
        match &mut self.write_budget {
            None => Ok(false),
            Some(0) => Err(()),
            Some(budget) => {
                *budget -= 1;
                Ok(true)
            }
        }
    }

    /// A reserved write that did not commit gives its slot back.
    pub fn refund_write(&mut self) {
        if let Some(budget) = &mut self.write_budget {
            *budget += 1;
        }
    }

    pub fn clear(&mut self) {
        self.rate = 0.0;
        self.drops.clear();
        self.write_budget = None;
        self.concurrent_edits.clear();
        self.refusals.clear();
        self.denials.clear();
    }
}

/// The first rule with shots left that matches the request, with one shot used up.
fn take_shot(rules: &mut [DropRule], method: &str, path: &str) -> Option<LostAnswer> {
    let path = path.to_ascii_lowercase();
    let rule = rules.iter_mut().find(|r| {
        r.remaining > 0 && r.method.eq_ignore_ascii_case(method) && path.contains(&r.path_contains)
    })?;
    rule.remaining -= 1;
    Some(rule.lost)
}
