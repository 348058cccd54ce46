//! Authentication: accounts, credentials and the room-code tier.
//!
//! Three ways to authenticate a request (guide: "API Request Authentication"):
//!
//! * `Authorization: <credential>` — a token from `POST /auth/tokens`
//!   (`Bearer <credential>` is accepted too);
//! * `Authorization: Basic base64(user:password)`;
//! * `Authorization: roomcode:<code>` — the lower tier presenters use.
//!
//! Passwords are stored as argon2id hashes only. Credentials are 160 random
//! bits, kept in memory by their SHA-256 (a memory dump does not reveal a
//! usable token), expire after an idle time, and each account holds a
//! bounded number of them (the least recently used goes first), so the table
//! can never grow without bound.

use crate::resources::system_room::Room;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use vp2730_model::ApiError;
use vp2730_store::{Account, Store, StoreError};

/// Who the caller is, from least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// No credentials (only `ping` and login).
    Public,
    /// The room code: join, and read info, room and participants.
    Room,
    /// An account.
    Admin,
}

/// The factory account.
pub const DEFAULT_ACCOUNT: (&str, &str) = ("administrator", "password");
/// How long a verified Basic password is remembered, so that control systems
/// sending Basic on every request do not pay an argon2 hash each time.
const BASIC_CACHE_TTL: Duration = Duration::from_secs(60);
const BASIC_CACHE_MAX: usize = 256;

struct Session {
    account: String,
    last_used: Instant,
}

/// Credential policy, from the config.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    pub idle_timeout: Duration,
    pub max_sessions_per_account: usize,
    /// Failed password or room-code attempts from one address within
    /// `failure_window` before it is locked out.
    pub max_failures: u32,
    pub failure_window: Duration,
    /// First lockout; each further lockout of the same address doubles it,
    /// up to an hour.
    pub lockout: Duration,
    /// Failed room-code attempts per minute from all addresses together
    /// before room-code authentication pauses for a minute (a 4-digit code
    /// must not be brute-forced from many addresses).
    pub room_code_failures_per_minute: u32,
}

/// Failed-attempt bookkeeping per client address.
#[derive(Default)]
struct Throttle {
    by_addr: HashMap<IpAddr, Strikes>,
    room_window: Option<(Instant, u32)>,
    room_paused_until: Option<Instant>,
}

struct Strikes {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
    lockouts: u32,
}

/// Most addresses tracked at once; beyond it, the stalest are forgotten.
const THROTTLE_MAX: usize = 4096;
const LOCKOUT_MAX: Duration = Duration::from_secs(3600);

/// Accounts and live credentials.
pub struct Auth {
    store: Store,
    accounts: Mutex<HashMap<String, String>>,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    basic_cache: Mutex<HashMap<[u8; 32], Instant>>,
    /// Per-boot secret mixed into Basic cache keys.
    cache_salt: [u8; 16],
    /// A hash to verify against for unknown users, so that the answer takes
    /// as long as for a known user with a wrong password.
    dummy_phc: String,
    /// Bounds concurrent argon2 runs (each holds 7 MiB of working memory).
    hashing: Semaphore,
    throttle: Mutex<Throttle>,
    policy: AuthPolicy,
}

/// The result of checking a request's `Authorization` header.
pub struct Caller {
    pub tier: Tier,
    /// The credential token, when that is how the caller authenticated.
    pub credential: Option<String>,
}

impl Auth {
    /// Loads accounts, creating the factory account on first boot.
    pub async fn init(store: Store, policy: AuthPolicy) -> Result<Auth, StoreError> {
        let mut accounts = store.accounts().await?;
        if accounts.is_empty() {
            let (name, password) = DEFAULT_ACCOUNT;
            let phc = hash_password(password.to_string()).await;
            let account = Account {
                name: name.into(),
                phc,
                role: "administrator".into(),
            };
            store.put_account(&account).await?;
            accounts.push(account);
        }
        let dummy_phc = hash_password(random_id(24)).await;
        let mut cache_salt = [0u8; 16];
        fill_random(&mut cache_salt);
        Ok(Auth {
            store,
            accounts: Mutex::new(accounts.into_iter().map(|a| (a.name, a.phc)).collect()),
            sessions: Mutex::new(HashMap::new()),
            basic_cache: Mutex::new(HashMap::new()),
            cache_salt,
            dummy_phc,
            hashing: Semaphore::new(2),
            throttle: Mutex::new(Throttle::default()),
            policy,
        })
    }

    /// The store accounts live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `POST /auth/tokens`: checks `base64(user:password)` and issues a
    /// credential. Every failure is the same 40000, without the secret.
    pub async fn login(&self, encoded: &str, peer: IpAddr) -> Result<String, ApiError> {
        let bad = || ApiError::invalid_secret("authorization");
        self.admit(peer)?;
        let Some((user, password)) = decode_user_pass(encoded) else {
            self.failed(peer, false);
            return Err(bad());
        };
        if !self.verify(&user, &password).await {
            tracing::warn!(%peer, "login failed");
            self.failed(peer, false);
            return Err(bad());
        }
        self.succeeded(peer);
        let token = hex(&random_bytes::<20>());
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| now.duration_since(s.last_used) < self.policy.idle_timeout);
        let mine: Vec<([u8; 32], Instant)> = sessions
            .iter()
            .filter(|(_, s)| s.account == user)
            .map(|(k, s)| (*k, s.last_used))
            .collect();
        if mine.len() >= self.policy.max_sessions_per_account {
            if let Some((oldest, _)) = mine.iter().min_by_key(|(_, t)| *t) {
                sessions.remove(oldest);
            }
        }
        sessions.insert(
            token_key(&token),
            Session {
                account: user.clone(),
                last_used: now,
            },
        );
        tracing::info!(%peer, account = %user, "credential issued");
        Ok(token)
    }

    /// Revokes a credential; false if it was not live.
    pub fn revoke(&self, token: &str) -> bool {
        lock(&self.sessions).remove(&token_key(token)).is_some()
    }

    /// Whether a credential is live; if so, counts as a use of it (an open
    /// event socket keeps its credential from idling out).
    pub fn touch(&self, token: &str) -> bool {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(&token_key(token)) {
            Some(s) if now.duration_since(s.last_used) < self.policy.idle_timeout => {
                s.last_used = now;
                true
            }
            _ => false,
        }
    }

    /// Number of live credentials (for tests and diagnostics).
    pub fn live_sessions(&self) -> usize {
        let now = Instant::now();
        lock(&self.sessions)
            .values()
            .filter(|s| now.duration_since(s.last_used) < self.policy.idle_timeout)
            .count()
    }

    /// Authenticates a request. No header: [`Tier::Public`]. A header that
    /// does not authenticate: 401.
    pub async fn check(
        &self,
        header: Option<&[u8]>,
        room: &Room,
        peer: IpAddr,
    ) -> Result<Caller, ApiError> {
        let Some(raw) = header else {
            return Ok(Caller {
                tier: Tier::Public,
                credential: None,
            });
        };
        match parse_authorization(raw)? {
            Presented::Basic(pair) => {
                self.admit(peer)?;
                let (user, password) = pair.ok_or(ApiError::Unauthorized)?;
                if self.verify_cached(&user, &password).await {
                    self.succeeded(peer);
                    Ok(Caller {
                        tier: Tier::Admin,
                        credential: None,
                    })
                } else {
                    tracing::warn!(%peer, "Basic authentication failed");
                    self.failed(peer, false);
                    Err(ApiError::Unauthorized)
                }
            }
            Presented::RoomCode(code) => {
                if !room.verification {
                    return Ok(Caller {
                        tier: Tier::Room,
                        credential: None,
                    });
                }
                self.admit(peer)?;
                self.admit_room_code()?;
                if ct_eq(code.as_bytes(), room.code.as_bytes()) {
                    self.succeeded(peer);
                    Ok(Caller {
                        tier: Tier::Room,
                        credential: None,
                    })
                } else {
                    tracing::warn!(%peer, "wrong room code");
                    self.failed(peer, true);
                    Err(ApiError::Unauthorized)
                }
            }
            Presented::Token(token) => self.check_token(token),
        }
    }

    /// A credential from `POST /auth/tokens`: admitted while it is live.
    fn check_token(&self, token: &str) -> Result<Caller, ApiError> {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        let key = token_key(token);
        match sessions.get_mut(&key) {
            Some(s) if now.duration_since(s.last_used) < self.policy.idle_timeout => {
                s.last_used = now;
                Ok(Caller {
                    tier: Tier::Admin,
                    credential: Some(token.to_string()),
                })
            }
            Some(_) => {
                sessions.remove(&key);
                Err(ApiError::Unauthorized)
            }
            None => Err(ApiError::Unauthorized),
        }
    }

    /// Refuses (403 / 40300) an address that is locked out.
    fn admit(&self, peer: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let t = lock(&self.throttle);
        match t.by_addr.get(&peer).and_then(|s| s.locked_until) {
            Some(until) if until > now => Err(ApiError::Refused),
            _ => Ok(()),
        }
    }

    /// Refuses room-code attempts while they are paused device-wide.
    fn admit_room_code(&self) -> Result<(), ApiError> {
        let t = lock(&self.throttle);
        match t.room_paused_until {
            Some(until) if until > Instant::now() => Err(ApiError::Refused),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; locks the address out when it has failed
    /// too often.
    fn failed(&self, peer: IpAddr, room_code: bool) {
        let now = Instant::now();
        let p = &self.policy;
        let mut t = lock(&self.throttle);
        if t.by_addr.len() >= THROTTLE_MAX && !t.by_addr.contains_key(&peer) {
            let stalest = t
                .by_addr
                .iter()
                .min_by_key(|(_, s)| s.window_start)
                .map(|(a, _)| *a);
            if let Some(a) = stalest {
                t.by_addr.remove(&a);
            }
        }
        let s = t.by_addr.entry(peer).or_insert(Strikes {
            failures: 0,
            window_start: now,
            locked_until: None,
            lockouts: 0,
        });
        if now.duration_since(s.window_start) > p.failure_window {
            s.failures = 0;
            s.window_start = now;
        }
        s.failures += 1;
        if s.failures >= p.max_failures {
            let factor = 1u32 << s.lockouts.min(12);
            let lock_for = p.lockout.saturating_mul(factor).min(LOCKOUT_MAX);
            s.locked_until = Some(now + lock_for);
            s.lockouts += 1;
            s.failures = 0;
            s.window_start = now;
            tracing::warn!(%peer, seconds = lock_for.as_secs(), "too many failed attempts; address locked out");
        }
        if room_code {
            let (start, n) = t.room_window.get_or_insert((now, 0));
            if now.duration_since(*start) > Duration::from_secs(60) {
                *start = now;
                *n = 0;
            }
            *n += 1;
            if *n >= p.room_code_failures_per_minute {
                t.room_paused_until = Some(now + Duration::from_secs(60));
                t.room_window = None;
                tracing::warn!(
                    "too many wrong room codes device-wide; room-code access paused for a minute"
                );
            }
        }
    }

    /// Clears an address's failure count after a success.
    fn succeeded(&self, peer: IpAddr) {
        let mut t = lock(&self.throttle);
        if let Some(s) = t.by_addr.get_mut(&peer) {
            s.failures = 0;
        }
    }

    async fn verify_cached(&self, user: &str, password: &str) -> bool {
        let key = {
            let mut material = self.cache_salt.to_vec();
            material.extend_from_slice(user.as_bytes());
            material.push(0);
            material.extend_from_slice(password.as_bytes());
            sha256(&material)
        };
        let now = Instant::now();
        if lock(&self.basic_cache)
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < BASIC_CACHE_TTL)
        {
            return true;
        }
        if !self.verify(user, password).await {
            return false;
        }
        let mut cache = lock(&self.basic_cache);
        if cache.len() >= BASIC_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, now);
        true
    }

    /// argon2 verification, with the same cost for unknown users.
    async fn verify(&self, user: &str, password: &str) -> bool {
        let (phc, known) = match lock(&self.accounts).get(user) {
            Some(phc) => (phc.clone(), true),
            None => (self.dummy_phc.clone(), false),
        };
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && known
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The password hasher: argon2id with 7 MiB and 5 passes, one of OWASP's
/// equivalent argon2id settings, chosen over 19 MiB / 2 passes for the ARM
/// board's small RAM (two concurrent logins cost 14 MiB, not 38). Stored
/// hashes carry their own parameters, so older hashes still verify.
fn hasher() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// argon2id (see [`hasher`]) with a random salt.
async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt_bytes = random_bytes::<16>();
        let salt = SaltString::encode_b64(&salt_bytes).ok()?;
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .ok()
            .map(|h| h.to_string())
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default()
}

/// What an `Authorization` header presents, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented<'a> {
    /// `Basic <base64 of user:password>` (any case); `None` when the rest
    /// does not decode to a `user:password` pair.
    Basic(Option<(String, String)>),
    /// `roomcode:<code>` (any case), the code trimmed.
    RoomCode(&'a str),
    /// Anything else: a credential from `POST /auth/tokens`, bare (as the
    /// guide shows it) or after `Bearer `, trimmed.
    Token(&'a str),
}

/// Parses a raw `Authorization` header value (A1-A3 in docs/spec-notes.md).
/// Pure: no lookup, no clock, no hashing, so the fuzzer can drive every
/// form at full speed. A value that is not UTF-8 is 401.
pub fn parse_authorization(raw: &[u8]) -> Result<Presented<'_>, ApiError> {
    let value = std::str::from_utf8(raw)
        .map_err(|_| ApiError::Unauthorized)?
        .trim();
    if let Some(rest) = strip_prefix_ci(value, "basic ") {
        return Ok(Presented::Basic(decode_user_pass(rest.trim())));
    }
    if let Some(code) = strip_prefix_ci(value, "roomcode:") {
        return Ok(Presented::RoomCode(code.trim()));
    }
    Ok(Presented::Token(
        strip_prefix_ci(value, "bearer ").unwrap_or(value).trim(),
    ))
}

fn decode_user_pass(encoded: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Constant-time equality (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn token_key(token: &str) -> [u8; 32] {
    sha256(token.as_bytes())
}

fn fill_random(buf: &mut [u8]) {
    // The system RNG failing means the kernel cannot give randomness at
    // all; nothing secure can be done then.
    if SystemRandom::new().fill(buf).is_err() {
        panic!("system random number generator unavailable");
    }
}

/// `N` random bytes from the system RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fill_random(&mut b);
    b
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` uniformly random characters from `alphabet` (rejection sampling).
fn random_from(alphabet: &[u8], n: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes::<32>() {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// `n` random decimal digits (room codes).
pub fn random_digits(n: usize) -> String {
    random_from(b"0123456789", n)
}

/// `n` random letters and digits (participant ids).
pub fn random_id(n: usize) -> String {
    random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        n,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_pass_decoding() {
        assert_eq!(
            decode_user_pass("YWRtaW5pc3RyYXRvcjpwYXNzd29yZA=="),
            Some(("administrator".into(), "password".into()))
        );
        assert_eq!(decode_user_pass("!!"), None);
        assert_eq!(decode_user_pass("bm9jb2xvbg=="), None);
    }

    #[test]
    fn random_helpers_have_the_right_shape() {
        let d = random_digits(4);
        assert!(d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit()));
        let id = random_id(10);
        assert!(id.len() == 10 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(random_id(16), random_id(16));
    }

    #[test]
    fn prefixes_are_case_insensitive() {
        assert_eq!(strip_prefix_ci("BASIC abc", "basic "), Some("abc"));
        assert_eq!(strip_prefix_ci("RoomCode:1234", "roomcode:"), Some("1234"));
        assert_eq!(strip_prefix_ci("ba", "basic "), None);
        assert!(ct_eq(b"1234", b"1234") && !ct_eq(b"1234", b"1235"));
    }
}
