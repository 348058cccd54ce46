//! The VP2730 settings store.
//!
//! A deliberately small datastore in the Bottlerocket style: the API layer
//! decides what a setting is and how it is validated; the store keeps
//! `key -> JSON` rows and login accounts, and guarantees that a [`Store::commit`]
//! that returned `Ok` survives a crash or a power cut (SQLite WAL with
//! `synchronous=FULL`: the commit is fsynced before `commit` returns).
//!
//! A database that cannot be opened, fails SQLite's `quick_check` or has a
//! schema this build does not know is moved aside (kept for diagnosis) and
//! a fresh one is created, so a damaged flash never crash-loops the device;
//! [`Opened::recovered`] tells the daemon it happened.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqlitePool};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Store failures. The daemon maps all of them to 503 (storage not ready)
/// or 500; none carries data from a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// One login account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    /// argon2id PHC string.
    pub phc: String,
    pub role: String,
}

/// The open store.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// Result of [`Store::open`].
pub struct Opened {
    pub store: Store,
    /// Set when the existing database was unusable and was moved to this path.
    pub recovered: Option<PathBuf>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Opens (or creates) the database at `path`, recovering from a damaged
    /// file as described in the crate docs.
    pub async fn open(path: &Path) -> Result<Opened, StoreError> {
        match Self::try_open(path).await {
            Ok(store) => Ok(Opened {
                store,
                recovered: None,
            }),
            Err(e) if path.exists() => {
                let aside = aside_name(path);
                tracing::error!(error = %e, moved_to = %aside.display(),
                    "settings database unusable; starting from defaults");
                std::fs::rename(path, &aside)?;
                for ext in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{ext}", path.display()));
                    if side.exists() {
                        std::fs::rename(&side, format!("{}{ext}", aside.display()))?;
                    }
                }
                let store = Self::try_open(path).await?;
                Ok(Opened {
                    store,
                    recovered: Some(aside),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn try_open(path: &Path) -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        // One connection: the daemon has a single writer, and reads are
        // served from memory.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&pool)
            .await?;
        if check != "ok" {
            pool.close().await;
            return Err(StoreError::Db(sqlx::Error::Protocol(format!(
                "quick_check: {check}"
            ))));
        }
        if let Err(e) = MIGRATOR.run(&pool).await {
            pool.close().await;
            return Err(e.into());
        }
        Ok(Store { pool })
    }

    /// Every stored setting, by key.
    pub async fn load_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT key, value FROM settings ORDER BY key")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect())
    }

    /// Writes all `changes` in one transaction; returns once it is durable.
    ///
    /// On any failure the connection is closed (which rolls back whatever
    /// it still has open) and the next write gets a fresh one. SQLite leaves
    /// a failed transaction in either state: after `SQLITE_FULL` or an I/O
    /// error it may have rolled it back by itself, while a failed `COMMIT`
    /// keeps it open. A connection that kept it open would silently fold
    /// every later "commit" into a transaction that never ends, and those
    /// writes would be acknowledged, then lost at the next restart
    /// (tests/disk_full.rs found exactly that with sqlx's transaction
    /// guard, whose bookkeeping assumed the rollback had happened).
    pub async fn commit(&self, changes: &[(String, String)]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        match write_rows(&mut conn, changes).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Err(close) = conn.detach().close().await {
                    tracing::warn!(error = %close, "closing the failed connection");
                }
                Err(e)
            }
        }
    }

    /// All accounts.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query("SELECT name, phc, role FROM accounts ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Account {
                name: r.get(0),
                phc: r.get(1),
                role: r.get(2),
            })
            .collect())
    }

    /// Creates or replaces an account.
    pub async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO accounts (name, phc, role) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET phc = excluded.phc, role = excluded.role",
        )
        .bind(&account.name)
        .bind(&account.phc)
        .bind(&account.role)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Flushes the WAL into the main file and closes the database.
    pub async fn close(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }
}

/// `BEGIN IMMEDIATE`, the upserts, `COMMIT`: explicit, so that the caller
/// knows the connection's state is unknown whenever this fails.
async fn write_rows(
    conn: &mut sqlx::SqliteConnection,
    changes: &[(String, String)],
) -> Result<(), StoreError> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    for (key, value) in changes {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// `<db>.corrupt-<unix seconds>`, with `-<n>` added while that name is
/// taken: a second recovery within the same second must not overwrite the
/// first file kept for diagnosis.
fn aside_name(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = format!("{}.corrupt-{stamp}", path.display());
    let mut name = PathBuf::from(&base);
    let mut n = 1;
    while name.exists() {
        name = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commits_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let s = Store::open(&db).await.unwrap().store;
        s.commit(&[("a".into(), "1".into()), ("b".into(), "2".into())])
            .await
            .unwrap();
        s.commit(&[("a".into(), "3".into())]).await.unwrap();
        s.close().await;
        let s = Store::open(&db).await.unwrap();
        assert!(s.recovered.is_none());
        assert_eq!(
            s.store.load_settings().await.unwrap(),
            vec![("a".into(), "3".into()), ("b".into(), "2".into())]
        );
    }

    #[tokio::test]
    async fn garbage_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        std::fs::write(&db, vec![0x5au8; 8192]).unwrap();
        let s = Store::open(&db).await.unwrap();
        let aside = s.recovered.expect("recovered");
        assert!(aside.exists());
        assert!(s.store.load_settings().await.unwrap().is_empty());
    }
}
