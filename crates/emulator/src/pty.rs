//! The pseudo-terminal pair the emulated MCU sits on.
//!
//! The emulator holds the master side; the daemon opens the slave path
//! with tokio-serial exactly as it opens `/dev/ttyS1` on the device. The
//! emulator also keeps the slave open itself, so the master never sees a
//! hang-up (EIO) while the daemon has the port closed (before it starts,
//! between restarts).

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The master side of a pty pair, as an async byte stream.
pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
    /// Held so the line stays up whoever opens and closes the slave.
    _slave: OwnedFd,
    slave_path: PathBuf,
}

impl PtyMaster {
    /// Opens a new pty pair in raw mode (no echo, no line editing, no CR/LF
    /// translation: the bytes the MCU sends are the bytes the daemon
    /// reads). Must be called inside a tokio runtime.
    pub fn open() -> io::Result<Self> {
        let pair = nix::pty::openpty(None, None).map_err(io::Error::from)?;
        // The termios of a pty pair lives with the pair; setting it through
        // the master fd (our side) configures the line the daemon opens.
        let mut t = tcgetattr(&pair.master).map_err(io::Error::from)?;
        cfmakeraw(&mut t);
        tcsetattr(&pair.master, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
        let slave_path = nix::unistd::ttyname(&pair.slave).map_err(io::Error::from)?;
        let flags = fcntl(&pair.master, FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&pair.master, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        // SAFETY: `OwnedFd` owns a valid descriptor, and `AsyncFd` keeps
        // it, never replaced or closed elsewhere, until it deregisters it.
        let fd = unsafe { AsyncFd::register(pair.master)? };
        Ok(PtyMaster {
            fd,
            _slave: pair.slave,
            slave_path,
        })
    }

    /// The slave device (`/dev/pts/N`) the daemon opens.
    pub fn slave_path(&self) -> &std::path::Path {
        &self.slave_path
    }
}

impl AsyncRead for PtyMaster {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard
                .try_io(|fd| nix::unistd::read(fd.get_ref(), unfilled).map_err(io::Error::from))
            {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyMaster {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(io::Error::from))
            {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
