//! One schedule's rotation as intervals: each layer's turns, clipped to its
//! restrictions (in the schedule's time zone), then the layers stacked into the
//! final schedule. Pure: the same inputs give the same spans, no clock read.
//!
//! The rules, with where each comes from:
//! - a layer is on from `start` until `end` (open-ended when absent); turns of
//!   `rotation_turn_length_seconds` count from `rotation_virtual_start`, user
//!   `k mod n` taking turn `k` (REST OpenAPI, `ScheduleLayer`);
//! - restrictions limit a layer to times of the day or of the week, evaluated in
//!   the schedule's `time_zone`; outside them the layer has nobody
//!   (support.pagerduty.com, "Setting up Restrictions for On-Call Shifts":
//!   "Restricting on-call duty ... creates gaps in schedule coverage");
//! - the lower (later) layer takes precedence where layers overlap
//!   (support.pagerduty.com/docs/schedules: "the lowest layer always takes
//!   precedence");
//! - where no layer has anyone, nobody is on call (same page: "no one is
//!   on-call during a given time period").
//!
//! Chosen where PagerDuty publishes no rule: turns count elapsed seconds (the
//! field's unit) whatever the clocks do; a restriction starts at its wall-clock
//! time each day (or week) and lasts `duration_seconds` of elapsed time; a start
//! time a DST change skips begins when the clocks resume, an ambiguous one at
//! its first occurrence. Adjacent spans of the same user are merged.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A time restriction on a layer, in PagerDuty's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Restriction {
    /// Every day from `start` (local) for `seconds`.
    Daily { start: NaiveTime, seconds: i64 },
    /// Every week on `day` (1 Monday … 7 Sunday) from `start` for `seconds`.
    Weekly {
        day: u32,
        start: NaiveTime,
        seconds: i64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub virtual_start: DateTime<Utc>,
    pub turn_seconds: i64,
    /// Whoever takes each turn, in rotation order (any label: an email, an id).
    pub users: Vec<String>,
    pub restrictions: Vec<Restriction>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub time_zone: Tz,
    /// In declaration order: the last has the highest precedence.
    pub layers: Vec<Layer>,
}

/// Someone on call from `start` until `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub user: String,
}

impl Layer {
    /// The layer's spans within `[from, to)`, in time order.
    pub fn spans(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
        let from = from.max(self.start);
        let to = self.end.map_or(to, |end| end.min(to));
        if from >= to || self.users.is_empty() {
            return Vec::new();
        }
        let allowed = if self.restrictions.is_empty() {
            vec![(from, to)]
        } else {
            restricted_windows(&self.restrictions, tz, from, to)
        };
        let turn = self.turn_seconds.max(1);
        let mut spans: Vec<Span> = Vec::new();
        for (a, b) in allowed {
            let mut k = (a - self.virtual_start).num_seconds().div_euclid(turn);
            loop {
                let turn_start = self.virtual_start + Duration::seconds(k * turn);
                let turn_end = turn_start + Duration::seconds(turn);
                let (start, end) = (turn_start.max(a), turn_end.min(b));
                if start >= b {
                    break;
                }
                if start < end {
                    let user = &self.users[k.rem_euclid(self.users.len() as i64) as usize];
                    push_merged(&mut spans, start, end, user);
                }
                k += 1;
            }
        }
        spans
    }
}

impl Schedule {
    /// Who is on call within `[from, to)`, highest-precedence layer first at
    /// every instant; the holes are the gaps.
    pub fn final_spans(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
        let layers: Vec<Vec<Span>> = self
            .layers
            .iter()
            .map(|l| l.spans(self.time_zone, from, to))
            .collect();
        let mut cuts: Vec<DateTime<Utc>> = layers
            .iter()
            .flatten()
            .flat_map(|s| [s.start, s.end])
            .collect();
        cuts.sort();
        cuts.dedup();
        // One cursor per layer: spans are sorted, so each is passed once.
        let mut cursors = vec![0usize; layers.len()];
        let mut out: Vec<Span> = Vec::new();
        for pair in cuts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let mut who = None;
            for (i, spans) in layers.iter().enumerate().rev() {
                while cursors[i] < spans.len() && spans[cursors[i]].end <= a {
                    cursors[i] += 1;
                }
                if let Some(s) = spans.get(cursors[i])
                    && s.start <= a
                {
                    who = Some(&s.user);
                    break;
                }
            }
            if let Some(user) = who {
                push_merged(&mut out, a, b, user);
            }
        }
        out
    }
}

fn push_merged(spans: &mut Vec<Span>, start: DateTime<Utc>, end: DateTime<Utc>, user: &str) {
    if let Some(last) = spans.last_mut()
        && last.end == start
        && last.user == user
    {
        last.end = end;
        return;
    }
    spans.push(Span {
        start,
        end,
        user: user.to_owned(),
    });
}

/// The instant a local wall-clock time names: the first of two (clocks going
/// back), or when the clocks resume if the time is skipped.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    let mut probe = naive;
    loop {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        // Inside a skipped hour: walk forward to the first time that exists.
        probe += Duration::minutes(1);
    }
}

/// The union of the restrictions' windows that meet `[from, to)`, clipped and
/// sorted. Windows start on local days (or weeks) from one period before `from`,
/// so one that began earlier and is still open is found.
fn restricted_windows(
    restrictions: &[Restriction],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let first_day = from.with_timezone(&tz).date_naive() - Duration::days(7);
    let last_day = to.with_timezone(&tz).date_naive();
    let mut windows = Vec::new();
    let mut day = first_day;
    while day <= last_day {
        for r in restrictions {
            let (start, seconds) = match *r {
                Restriction::Daily { start, seconds } => (start, seconds),
                Restriction::Weekly {
                    day: weekday,
                    start,
                    seconds,
                } if day.weekday().number_from_monday() == weekday => (start, seconds),
                Restriction::Weekly { .. } => continue,
            };
            let a = local_instant(tz, day, start);
            let b = a + Duration::seconds(seconds.max(0));
            let (a, b) = (a.max(from), b.min(to));
            if a < b {
                windows.push((a, b));
            }
        }
        day = day.succ_opt().expect("a date before year 262143");
    }
    windows.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (a, b) in windows {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hourly(users: &[&str], restrictions: Vec<Restriction>) -> Layer {
        Layer {
            name: "l".into(),
            start: t("2023-09-16T00:00:00+09:00"),
            end: None,
            virtual_start: t("2023-09-16T00:00:00+09:00"),
            turn_seconds: 3600,
            users: users.iter().map(|u| u.to_string()).collect(),
            restrictions,
        }
    }

    fn daily(h: u32, seconds: i64) -> Restriction {
        Restriction::Daily {
            start: NaiveTime::from_hms_opt(h, 0, 0).unwrap(),
            seconds,
        }
    }

    #[test]
    fn an_hourly_rotation_alternates_for_a_day() {
        let s = Schedule {
            time_zone: "Asia/Tokyo".parse().unwrap(),
            layers: vec![hourly(&["a", "b"], vec![])],
        };
        let spans = s.final_spans(
            t("2026-12-05T00:00:00+09:00"),
            t("2026-12-06T00:00:00+09:00"),
        );
        assert_eq!(spans.len(), 24);
        assert!(spans.iter().step_by(2).all(|x| x.user == "a"));
        assert!(spans.iter().skip(1).step_by(2).all(|x| x.user == "b"));
        assert!(spans.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn a_daily_restriction_follows_new_york_across_the_march_change() {
        let s = Schedule {
            time_zone: "America/New_York".parse().unwrap(),
            layers: vec![hourly(&["a"], vec![daily(9, 9 * 3600)])],
        };
        // 2027-03-14: clocks go from 02:00 EST to 03:00 EDT.
        let spans = s.final_spans(t("2027-03-13T00:00:00Z"), t("2027-03-16T00:00:00Z"));
        let starts: Vec<_> = spans.iter().map(|x| x.start).collect();
        assert_eq!(
            starts,
            [
                t("2027-03-13T14:00:00Z"),
                t("2027-03-14T13:00:00Z"),
                t("2027-03-15T13:00:00Z")
            ]
        );
        assert!(spans.iter().all(|x| x.end - x.start == Duration::hours(9)));
    }

    #[test]
    fn a_start_the_clocks_skip_begins_when_they_resume() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let at = local_instant(
            tz,
            NaiveDate::from_ymd_opt(2027, 3, 14).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(at, t("2027-03-14T07:00:00Z"));
    }

    #[test]
    fn a_weekly_restriction_and_an_overriding_layer() {
        let weekend = Restriction::Weekly {
            day: 6,
            start: NaiveTime::MIN,
            seconds: 2 * 86400,
        };
        let mut night = hourly(&["n"], vec![daily(0, 6 * 3600)]);
        night.name = "night".into();
        let s = Schedule {
            time_zone: "UTC".parse().unwrap(),
            layers: vec![hourly(&["w"], vec![weekend]), night],
        };
        // Friday 2026-12-04 to Monday 2026-12-07.
        let spans = s.final_spans(t("2026-12-04T00:00:00Z"), t("2026-12-07T00:00:00Z"));
        let shape: Vec<(String, String, &str)> = spans
            .iter()
            .map(|x| (x.start.to_rfc3339(), x.end.to_rfc3339(), x.user.as_str()))
            .collect();
        let s = |a: &str, b: &str, u: &'static str| (t(a).to_rfc3339(), t(b).to_rfc3339(), u);
        assert_eq!(
            shape,
            [
                s("2026-12-04T00:00:00Z", "2026-12-04T06:00:00Z", "n"),
                s("2026-12-05T00:00:00Z", "2026-12-05T06:00:00Z", "n"),
                s("2026-12-05T06:00:00Z", "2026-12-06T00:00:00Z", "w"),
                s("2026-12-06T00:00:00Z", "2026-12-06T06:00:00Z", "n"),
                s("2026-12-06T06:00:00Z", "2026-12-07T00:00:00Z", "w"),
            ]
        );
    }

    #[test]
    fn a_restriction_open_before_the_window_is_found() {
        let s = Schedule {
            time_zone: "UTC".parse().unwrap(),
            layers: vec![hourly(&["a"], vec![daily(22, 8 * 3600)])],
        };
        let spans = s.final_spans(t("2026-12-05T03:00:00Z"), t("2026-12-05T12:00:00Z"));
        assert_eq!(spans.len(), 1);
        assert_eq!(
            (spans[0].start, spans[0].end),
            (t("2026-12-05T03:00:00Z"), t("2026-12-05T06:00:00Z"))
        );
    }

    #[test]
    fn a_layer_that_ends_leaves_a_gap() {
        let mut l = hourly(&["a"], vec![]);
        l.end = Some(t("2026-12-05T12:00:00Z"));
        let s = Schedule {
            time_zone: "UTC".parse().unwrap(),
            layers: vec![l],
        };
        let spans = s.final_spans(t("2026-12-05T00:00:00Z"), t("2026-12-06T00:00:00Z"));
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].end, t("2026-12-05T12:00:00Z"));
    }
}
