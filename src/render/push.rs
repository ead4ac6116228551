//! Starting a rendered file's disk writes while the render goes on (plain renders and stems).

use crate::format::{self, WavSink};

/// Bytes of a file between two pushes to the disk (about 1.8 s of s24 audio at 48 kHz).
const PUSH_BYTES: u64 = 512 << 10;

/// Starts the disk writes of rendered files on its own thread while the render goes on
/// ([`format::Writeback`]), so the disk works during the render instead of only in the final syncs
/// of [`WavSink::finish`], which then have little left to wait for. Starting the writes can itself
/// wait (for room in the disk's queue), which is why the thread writing the files does not do
/// it.
pub(crate) struct Pusher {
    tx: Option<std::sync::mpsc::SyncSender<(usize, u64)>>,
    handle: Option<std::thread::JoinHandle<()>>,
    /// Per file, the extent last asked for.
    asked: Vec<u64>,
}

impl Pusher {
    pub(crate) fn start(sinks: &mut [WavSink]) -> Pusher {
        let mut files: Vec<Option<format::Writeback>> =
            sinks.iter_mut().map(|s| s.writeback().ok()).collect();
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, u64)>(64);
        // Pushing does nothing elsewhere (see `Writeback::push`): no thread then.
        let handle = cfg!(target_os = "linux")
            .then(|| {
                std::thread::Builder::new()
                    .name("ttrack-push".into())
                    .spawn(move || {
                        while let Ok((k, upto)) = rx.recv() {
                            if let Some(Some(f)) = files.get_mut(k) {
                                f.push(upto);
                            }
                        }
                    })
                    .ok()
            })
            .flatten();
        Pusher {
            tx: handle.is_some().then_some(tx),
            handle,
            asked: vec![0; sinks.len()],
        }
    }

    /// Asks for the files that grew by [`PUSH_BYTES`] since their last push to be pushed (a
    /// request that finds the queue full waits for the next call).
    pub(crate) fn written(&mut self, sinks: &[WavSink]) {
        let Some(tx) = &self.tx else { return };
        for (k, (sink, asked)) in sinks.iter().zip(&mut self.asked).enumerate() {
            let bytes = sink.file_bytes();
            if bytes - *asked >= PUSH_BYTES && tx.try_send((k, bytes)).is_ok() {
                *asked = bytes;
            }
        }
    }

    /// Lets the pushes under way finish.
    pub(crate) fn finish(mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
