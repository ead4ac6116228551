//! The rings between the UI and the engine, created once by [`link`] before any stream starts: the
//! UI keeps the [`EngineHandle`], the engine gets the [`EngineLink`]. No lock is shared; a full ring
//! never blocks either side.

use super::midi::MidiReport;
use super::mixer::Meters;
use super::msg::{Command, Garbage, Report, Status};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Producer, Split};
use std::collections::VecDeque;

/// Capacity of the UI → engine command ring.
pub const COMMAND_CAPACITY: usize = 4096;
/// Capacity of the engine → UI report ring.
pub const REPORT_CAPACITY: usize = 256;
/// Capacity of the engine → UI garbage ring; also the most boxed commands in flight.
pub const GARBAGE_CAPACITY: usize = 64;

/// MIDI reports kept in the handle until [`EngineHandle::take_midi`] takes them.
pub const MIDI_KEEP: usize = 4096;

/// The engine's ends of the rings.
pub struct EngineLink {
    pub(super) commands: ringbuf::HeapCons<Command>,
    pub(super) reports: ringbuf::HeapProd<Report>,
    pub(super) garbage: ringbuf::HeapProd<Garbage>,
}

/// The UI's ends of the rings, with a backlog for commands that did not fit.
pub struct EngineHandle {
    commands: ringbuf::HeapProd<Command>,
    reports: ringbuf::HeapCons<Report>,
    garbage: ringbuf::HeapCons<Garbage>,
    backlog: VecDeque<Command>,
    midi: VecDeque<MidiReport>,
    boxes_in_flight: usize,
    next_mark: u32,
    status: Status,
    meters: Meters,
    meter_reports: u64,
    located: Option<super::midi::LocateReport>,
    /// Commands that had to wait in the backlog at least once.
    pub backlogged: u64,
}

/// Creates the rings; call once, before the audio stream starts.
pub fn link() -> (EngineHandle, EngineLink) {
    let (cp, cc) = HeapRb::<Command>::new(COMMAND_CAPACITY).split();
    let (rp, rc) = HeapRb::<Report>::new(REPORT_CAPACITY).split();
    let (gp, gc) = HeapRb::<Garbage>::new(GARBAGE_CAPACITY).split();
    (
        EngineHandle {
            commands: cp,
            reports: rc,
            garbage: gc,
            backlog: VecDeque::new(),
            midi: VecDeque::new(),
            boxes_in_flight: 0,
            next_mark: 0,
            status: Status::default(),
            meters: Meters::default(),
            meter_reports: 0,
            located: None,
            backlogged: 0,
        },
        EngineLink {
            commands: cc,
            reports: rp,
            garbage: gp,
        },
    )
}

fn is_boxed(c: &Command) -> bool {
    matches!(
        c,
        Command::ReplacePattern { .. }
            | Command::ReplaceInstrument { .. }
            | Command::ReplaceSong(_)
            | Command::SetMidiInput(_)
            | Command::SetMonitor(_)
            | Command::SetMix(_)
    )
}

impl EngineHandle {
    /// Sends a command, keeping order: once anything waits in the backlog, new commands queue
    /// behind it. Boxed commands also wait while [`GARBAGE_CAPACITY`] boxes are in flight, so the
    /// engine can always return what it displaces.
    pub fn send(&mut self, command: Command) {
        self.backlog.push_back(command);
        self.flush();
        if !self.backlog.is_empty() {
            self.backlogged += 1;
        }
    }

    fn flush(&mut self) {
        while let Some(c) = self.backlog.pop_front() {
            let boxed = is_boxed(&c);
            if boxed && self.boxes_in_flight >= GARBAGE_CAPACITY {
                self.backlog.push_front(c);
                return;
            }
            match self.commands.try_push(c) {
                Ok(()) => {
                    if boxed {
                        self.boxes_in_flight += 1;
                    }
                }
                Err(c) => {
                    self.backlog.push_front(c);
                    return;
                }
            }
        }
    }

    /// Sends a [`Command::Mark`] and returns its number; [`EngineHandle::status`]`.mark` reaches it
    /// once the engine has applied everything sent before.
    pub fn mark(&mut self) -> u32 {
        self.next_mark = self.next_mark.wrapping_add(1);
        self.send(Command::Mark(self.next_mark));
        self.next_mark
    }

    /// Call once per UI frame: drops returned garbage (here, on the UI thread), keeps the newest
    /// status, collects MIDI reports (see [`EngineHandle::take_midi`]) and retries the backlog.
    /// Returns true when a new status or MIDI report arrived.
    pub fn pump(&mut self) -> bool {
        while let Some(g) = self.garbage.try_pop() {
            self.boxes_in_flight = self.boxes_in_flight.saturating_sub(1);
            drop(g);
        }
        let mut fresh = false;
        while let Some(r) = self.reports.try_pop() {
            match r {
                Report::Status(s) => {
                    self.status = s;
                    fresh = true;
                }
                Report::Meters(m) => {
                    self.meters = m;
                    self.meter_reports += 1;
                }
                Report::Located(l) => {
                    self.located = Some(l);
                    fresh = true;
                }
                Report::Midi(m) => {
                    // Nobody reading them (no recorder yet): keep the newest few thousand.
                    if self.midi.len() >= MIDI_KEEP {
                        self.midi.pop_front();
                    }
                    self.midi.push_back(m);
                    fresh = true;
                }
            }
        }
        self.flush();
        fresh
    }

    /// The newest answer to a [`Command::Locate`], taken once.
    pub fn take_located(&mut self) -> Option<super::midi::LocateReport> {
        self.located.take()
    }

    /// The newest status received.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The MIDI events the engine played since the last call, oldest first, each with the song
    /// position heard when it was played (what a recorder writes into the pattern).
    pub fn take_midi(&mut self) -> impl Iterator<Item = MidiReport> + '_ {
        self.midi.drain(..)
    }

    /// The newest meters received.
    pub fn meters(&self) -> &Meters {
        &self.meters
    }

    /// Meter reports received so far.
    pub fn meter_reports(&self) -> u64 {
        self.meter_reports
    }

    /// Commands waiting to enter the ring.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Boxed commands whose garbage has not come back yet.
    pub fn boxes_in_flight(&self) -> usize {
        self.boxes_in_flight
    }
}

impl EngineLink {
    /// Returns displaced objects to the UI. Cannot fail while the UI respects the credit count;
    /// if it ever does, the object is leaked (counted) rather than freed on the audio thread.
    pub(super) fn return_garbage(&mut self, g: Garbage, parked: &mut u32) {
        if let Err(g) = self.garbage.try_push(g) {
            *parked += 1;
            std::mem::forget(g);
        }
    }

    /// Sends a status report; a full ring drops it (the next one supersedes it).
    pub(super) fn report(&mut self, s: Status) -> bool {
        self.send_report(Report::Status(s))
    }

    /// Sends any report; false when the ring is full.
    pub(super) fn send_report(&mut self, r: Report) -> bool {
        self.reports.try_push(r).is_ok()
    }

    /// Sends the meters; a full ring drops them (the next ones supersede them).
    pub(super) fn report_meters(&mut self, m: &Meters) -> bool {
        self.reports.try_push(Report::Meters(*m)).is_ok()
    }
}
