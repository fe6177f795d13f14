//! Interactions: where each leukocyte is relative to a partner — a structure seen in another
//! channel (vessels, collagen) or a mask the user drew — and its contacts over time. A stage
//! after linking: [`analyse`] reads the partner channel (or mask) one timepoint at a time,
//! makes a foreground mask, its exact signed distance map ([`edt`], anisotropic voxels) and
//! samples it at every tracked cell; contacts are runs of frames with the gap to the partner
//! at most `contact_um`.
//!
//! Outputs (names are contracts): `interactions.csv` (one row per tracked detection and
//! partner), `contacts.csv` (one row per contact), per-track columns `<partner>_…` added to
//! `track_metrics.csv`, and `interact` in `summary.json`.
//!
//! Not yet: partners of kind `objects` (segmented and linked partner cells with ids).

pub mod edt;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::io::Recording;
use crate::segment::filter::{self, Dims};
use crate::segment::label::{label, Connectivity};
use crate::table::{fmt_f64, Detections, Tracks};

/// Settings of the interactions (`[interact]`; partners as `[[interact.partner]]` tables).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InteractConfig {
    /// The partners (none: no interaction outputs). On the command line `--partner
    /// NAME=CHANNEL:structure[:static]` or `--partner NAME=mask:FILE`.
    pub partner: Vec<Partner>,
    /// A cell is in contact when its gap to the partner is at most this, µm.
    #[schemars(range(min = 0))]
    pub contact_um: f64,
    /// A contact tolerates this many frames out of contact (or missing) inside it.
    pub contact_gap_frames: u32,
    /// Contacts at least this long are `stable` (synapse-like), shorter ones kiss-and-run, s.
    #[schemars(range(min = 0))]
    pub stable_contact_s: f64,
    /// Partner objects within this distance are counted in `n_within`, µm.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub neighbour_radius_um: f64,
}

impl Default for InteractConfig {
    fn default() -> Self {
        InteractConfig {
            partner: Vec::new(),
            contact_um: 1.0,
            contact_gap_frames: 1,
            stable_contact_s: 180.0,
            neighbour_radius_um: 20.0,
        }
    }
}

fn default_smooth() -> f64 {
    1.0
}
fn default_min_volume() -> f64 {
    2000.0
}

/// One partner: what another channel (or a mask) holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Partner {
    /// A continuous foreground in a channel (vessels, collagen, a capsule): smoothed,
    /// thresholded (unless given: halfway between the medians of the two classes Otsu's
    /// threshold splits the smoothed channel into — the half-maximum edge of a blurred
    /// structure), pieces smaller than `min_volume_um3` removed.
    Structure {
        /// Its name in the outputs (`partner` column, the per-track columns' prefix).
        name: String,
        /// The channel (0-based).
        channel: usize,
        /// One mask from the maximum over time (a structure that does not move), instead of
        /// one per timepoint.
        #[serde(rename = "static", default)]
        fixed: bool,
        /// Gaussian smoothing before the threshold, sd in µm.
        #[serde(default = "default_smooth")]
        smooth_um: f64,
        /// The threshold in the channel's units (`None`: from the data, see above).
        #[serde(default)]
        threshold: Option<f64>,
        /// Foreground pieces smaller than this are removed, µm³.
        #[serde(default = "default_min_volume")]
        min_volume_um3: f64,
    },
    /// A mask or label TIFF (non-zero = the partner), one stack for every timepoint or one
    /// per timepoint, of the recording's (z, y, x) size.
    Mask {
        /// Its name in the outputs.
        name: String,
        /// The TIFF file.
        path: PathBuf,
    },
}

impl Partner {
    /// The partner's name.
    pub fn name(&self) -> &str {
        match self {
            Partner::Structure { name, .. } | Partner::Mask { name, .. } => name,
        }
    }

    /// `structure` or `mask`.
    pub fn kind(&self) -> &'static str {
        match self {
            Partner::Structure { .. } => "structure",
            Partner::Mask { .. } => "mask",
        }
    }

    /// Parses the command line's shorthand: `NAME=CHANNEL:structure[:static]` or
    /// `NAME=mask:FILE`.
    pub fn parse(spec: &str) -> Result<Partner> {
        let bad = |why: &str| {
            Error::param(
                "partner",
                format!(
                    "`{spec}`: {why} (give NAME=CHANNEL:structure[:static], NAME=mask:FILE; \
                     e.g. vessels=2:structure)"
                ),
            )
        };
        let (name, rest) = spec.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let name = name.trim();
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("the name must be letters, digits, _ or -"));
        }
        if let Some(path) = rest.strip_prefix("mask:") {
            return Ok(Partner::Mask { name: name.into(), path: PathBuf::from(path) });
        }
        let mut parts = rest.split(':');
        let channel: usize = parts
            .next()
            .and_then(|c| c.trim().parse().ok())
            .ok_or_else(|| bad("the channel must be a number"))?;
        match (parts.next(), parts.next(), parts.next()) {
            (Some("structure"), fixed, None) => {
                let fixed = match fixed {
                    None => false,
                    Some("static") => true,
                    Some(other) => {
                        return Err(bad(&format!("`{other}`: only `static` may follow")))
                    }
                };
                Ok(Partner::Structure {
                    name: name.into(),
                    channel,
                    fixed,
                    smooth_um: default_smooth(),
                    threshold: None,
                    min_volume_um3: default_min_volume(),
                })
            }
            (Some("objects"), _, _) => Err(Error::param(
                "partner",
                format!(
                    "`{spec}`: partners of kind `objects` (segmented and linked partner cells) \
                     are not implemented yet; use `structure` or `mask`"
                ),
            )),
            _ => Err(bad("unknown kind")),
        }
    }
}

impl InteractConfig {
    /// Checks the partners: names unique and non-empty, values in range.
    pub fn validate(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for p in &self.partner {
            if p.name().is_empty() || !seen.insert(p.name().to_string()) {
                return Err(Error::param(
                    "interact.partner",
                    format!("partner names must be unique and non-empty (`{}`)", p.name()),
                ));
            }
            if let Partner::Structure { smooth_um, min_volume_um3, .. } = p {
                if !(*smooth_um >= 0.0 && *min_volume_um3 >= 0.0) {
                    return Err(Error::param(
                        "interact.partner",
                        format!("`{}`: smooth_um and min_volume_um3 must be ≥ 0", p.name()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `interactions.csv`'s columns, in order.
pub const INTERACTION_COLUMNS: [&str; 12] = [
    "frame",
    "track_id",
    "detection",
    "partner",
    "distance_um",
    "gap_um",
    "nearest_id",
    "n_within",
    "in_contact",
    "approach_um_per_min",
    "approach_angle_deg",
    "gap_method",
];

/// `contacts.csv`'s columns, in order.
pub const CONTACT_COLUMNS: [&str; 9] = [
    "track_id",
    "partner",
    "partner_id",
    "start_frame",
    "end_frame",
    "duration_s",
    "mean_gap_um",
    "speed_um_per_min",
    "stable",
];

/// One contact: a run of frames of one track in contact with one partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    /// The track.
    pub track_id: String,
    /// The partner's name.
    pub partner: String,
    /// First frame in contact.
    pub start_frame: u32,
    /// Last frame in contact.
    pub end_frame: u32,
    /// (end − start + 1) × the frame interval, s: the time the contact was seen.
    pub duration_s: f64,
    /// Mean gap over the frames in contact, µm.
    pub mean_gap_um: f64,
    /// Mean speed of the steps inside the contact, µm/min (NaN for a one-frame contact).
    pub speed_um_per_min: f64,
    /// `duration_s` ≥ `stable_contact_s`.
    pub stable: bool,
}

/// Counts per partner (`summary.json`'s `interact.partners`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerSummary {
    /// Name.
    pub name: String,
    /// `structure` or `mask`.
    pub kind: String,
    /// Timepoints whose mask was empty (their distances are empty, not zero).
    pub empty_frames: Vec<u32>,
    /// Mean fraction of the volume in the partner.
    pub foreground_fraction: f64,
    /// Contacts.
    pub contacts: usize,
    /// Stable contacts.
    pub stable_contacts: usize,
    /// Tracks with at least one contact.
    pub tracks_in_contact: usize,
}

/// What [`analyse`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    /// `interactions.csv`, columnar: the tracks row each row is about.
    pub row: Vec<usize>,
    /// The partner (index into the configuration's partners) of each row.
    pub partner: Vec<usize>,
    /// Signed distance from the cell's centre to the partner's surface (negative inside), µm;
    /// NaN when the partner's mask is empty in that frame.
    pub distance_um: Vec<f64>,
    /// Surface-to-surface gap: `distance_um` − the cell's equivalent radius, µm.
    pub gap_um: Vec<f64>,
    /// `gap_um` ≤ `contact_um`.
    pub in_contact: Vec<bool>,
    /// −Δdistance / Δt of the step ending here, µm/min (positive: approaching).
    pub approach_um_per_min: Vec<f64>,
    /// Angle between that step and the direction to the partner's surface, degrees.
    pub approach_angle_deg: Vec<f64>,
    /// The contacts.
    pub contacts: Vec<Contact>,
    /// Partner names, in the configuration's order.
    pub names: Vec<String>,
    /// How the gap was computed.
    pub gap_method: &'static str,
    /// Per partner counts.
    pub partners: Vec<PartnerSummary>,
    /// Per-track columns `<partner>_…`, one value per track in `track_ids` order.
    pub per_track: Vec<(String, Vec<f64>)>,
    /// The track ids of `per_track`'s rows.
    pub track_ids: Vec<String>,
}

/// The equivalent radius of each tracks row, µm: from the detection's `volume_um3` (a
/// sphere's), 0 when unknown.
fn radii(tracks: &Tracks, detections: Option<&Detections>) -> (Vec<f64>, &'static str) {
    let from_volume = |v: f64| {
        if v.is_finite() && v > 0.0 {
            (3.0 * v / (4.0 * std::f64::consts::PI)).cbrt()
        } else {
            0.0
        }
    };
    if let (Some(d), Some(rows)) = (detections, tracks.detection.as_ref()) {
        if let Some(vol) = d.column("volume_um3").and_then(|c| c.as_f64()) {
            let r = rows
                .iter()
                .map(|&i| vol.get(i as usize).copied().map(from_volume).unwrap_or(0.0))
                .collect();
            return (r, "centre_distance_minus_equivalent_radius");
        }
    }
    if let Some(vol) = tracks.column("volume_um3").and_then(|c| c.as_f64()) {
        return (
            vol.iter().map(|&v| from_volume(v)).collect(),
            "centre_distance_minus_equivalent_radius",
        );
    }
    (vec![0.0; tracks.len()], "centre_distance")
}

/// A partner's masks, one timepoint at a time.
struct Source<'a> {
    partner: &'a Partner,
    recording: &'a Recording,
    mask: Option<Recording>,
    fixed: Option<Vec<bool>>,
    dims: Dims,
    spacing: [f64; 3],
}

fn to_mask(
    values: &[f32],
    dims: Dims,
    spacing: [f64; 3],
    threshold: Option<f64>,
    min_volume_um3: f64,
) -> Vec<bool> {
    let thr = threshold.unwrap_or_else(|| {
        let step = (values.len() / (1 << 18)).max(1);
        let s: Vec<f32> = values.iter().step_by(step).copied().collect();
        let Some(otsu) = crate::segment::threshold::otsu(&s) else { return f64::INFINITY };
        // Halfway between the two classes' medians: the edge of a blurred object, where
        // Otsu's threshold alone (between the class means, the object's class holding its
        // blurred rim) lies outside it.
        let (mut lo, mut hi): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        for &v in &s {
            if v > otsu {
                hi.push(v as f64)
            } else {
                lo.push(v as f64)
            }
        }
        if hi.is_empty() || lo.is_empty() {
            return otsu as f64;
        }
        let m = |v: &mut Vec<f64>| crate::metrics::population::quantiles(v, &[0.5])[0];
        (m(&mut lo) + m(&mut hi)) / 2.0
    });
    let mut mask: Vec<bool> = values.par_iter().map(|&v| v as f64 > thr).collect();
    let (labels, n) = label(&mask, dims, Connectivity::TwentySix);
    let mut size = vec![0usize; n + 1];
    for &l in &labels {
        size[l as usize] += 1;
    }
    let voxel = spacing[0] * spacing[1] * spacing[2];
    let keep: Vec<bool> = size.iter().map(|&k| k as f64 * voxel >= min_volume_um3).collect();
    for (m, &l) in mask.iter_mut().zip(&labels) {
        *m = *m && l > 0 && keep[l as usize];
    }
    mask
}

impl<'a> Source<'a> {
    fn new(partner: &'a Partner, recording: &'a Recording) -> Result<Self> {
        let s = recording.shape();
        let v = recording.calibration().voxel_size_um()?;
        let dims = Dims { nz: s.z, ny: s.y, nx: s.x };
        let spacing = [v.x, v.y, v.z];
        let mut src = Source { partner, recording, mask: None, fixed: None, dims, spacing };
        match partner {
            Partner::Structure { name, channel, fixed, smooth_um, threshold, min_volume_um3 } => {
                if *channel >= s.c {
                    return Err(Error::param(
                        "interact.partner",
                        format!(
                            "partner `{name}`: channel {channel} does not exist ({} has {} channel{})",
                            recording.path().display(),
                            s.c,
                            if s.c == 1 { "" } else { "s" }
                        ),
                    ));
                }
                if *fixed {
                    let mut max = vec![f32::NEG_INFINITY; dims.len()];
                    for t in 0..s.t {
                        let sm = src.smoothed(t, *channel, *smooth_um)?;
                        max.par_iter_mut().zip(sm.par_iter()).for_each(|(m, &v)| *m = m.max(v));
                    }
                    src.fixed = Some(to_mask(&max, dims, spacing, *threshold, *min_volume_um3));
                }
            }
            Partner::Mask { name, path } => {
                let m = Recording::open(path).map_err(|e| {
                    Error::param("interact.partner", format!("partner `{name}`: {e}"))
                })?;
                let ms = m.shape();
                if (ms.z, ms.y, ms.x) != (s.z, s.y, s.x) || !(ms.t == 1 || ms.t == s.t) {
                    return Err(Error::param(
                        "interact.partner",
                        format!(
                            "partner `{name}`: {} is {} × {} × {} (z × y × x) × {} timepoints; the recording is {} × {} × {} × {} (one stack or one per timepoint)",
                            path.display(), ms.z, ms.y, ms.x, ms.t, s.z, s.y, s.x, s.t
                        ),
                    ));
                }
                if ms.t == 1 {
                    src.fixed = Some(m.volume(0, 0)?.to_f32().iter().map(|&v| v != 0.0).collect());
                } else {
                    src.mask = Some(m);
                }
            }
        }
        Ok(src)
    }

    fn smoothed(&self, t: usize, channel: usize, smooth_um: f64) -> Result<Vec<f32>> {
        let v = self.recording.volume(t, channel)?.to_f32();
        let raw: Vec<f32> = v.iter().copied().collect();
        if smooth_um <= 0.0 {
            return Ok(raw);
        }
        let sigma = [smooth_um, smooth_um, if self.dims.nz > 1 { smooth_um } else { 0.0 }];
        Ok(filter::gaussian(&raw, self.dims, sigma, self.spacing))
    }

    /// The mask of timepoint `t`.
    fn mask(&self, t: usize) -> Result<std::borrow::Cow<'_, [bool]>> {
        if let Some(m) = &self.fixed {
            return Ok(std::borrow::Cow::Borrowed(m));
        }
        if let Some(m) = &self.mask {
            return Ok(std::borrow::Cow::Owned(
                m.volume(t, 0)?.to_f32().iter().map(|&v| v != 0.0).collect(),
            ));
        }
        match self.partner {
            Partner::Structure { channel, smooth_um, threshold, min_volume_um3, .. } => {
                let sm = self.smoothed(t, *channel, *smooth_um)?;
                Ok(std::borrow::Cow::Owned(to_mask(
                    &sm,
                    self.dims,
                    self.spacing,
                    *threshold,
                    *min_volume_um3,
                )))
            }
            Partner::Mask { .. } => Err(Error::internal("a mask partner without its mask")),
        }
    }
}

/// The interactions of `tracks` (positions as in the recording, µm) with every partner of
/// `config`, reading `recording` again one timepoint at a time (memory: one timepoint's
/// distance maps). `detections` (the rows `tracks.detection` refers to) give each cell's
/// volume for the gap; without them a `volume_um3` column of the tracks, else the centre
/// distance. `frame_interval_s` times the contacts; `arrest_um_per_min` splits the per-track
/// speeds into arrested or not.
pub fn analyse(
    recording: &Recording,
    tracks: &Tracks,
    detections: Option<&Detections>,
    config: &InteractConfig,
    frame_interval_s: f64,
    arrest_um_per_min: f64,
) -> Result<Interactions> {
    config.validate()?;
    let (radius, gap_method) = radii(tracks, detections);
    let shape = recording.shape();
    let sources: Vec<Source> =
        config.partner.iter().map(|p| Source::new(p, recording)).collect::<Result<_>>()?;
    let n = tracks.len();
    let np = config.partner.len();
    // Per partner, per tracks row: distance and the gradient direction (to the surface).
    let mut dist = vec![vec![f64::NAN; n]; np];
    let mut grad = vec![vec![[f64::NAN; 3]; n]; np];
    let mut empty: Vec<Vec<u32>> = vec![Vec::new(); np];
    let mut fg = vec![0.0f64; np];
    let mut by_frame: Vec<Vec<usize>> = vec![Vec::new(); shape.t];
    for r in 0..n {
        if let Some(v) = by_frame.get_mut(tracks.frame[r] as usize) {
            v.push(r);
        }
    }
    for (k, src) in sources.iter().enumerate() {
        let mut static_map: Option<Option<Vec<f32>>> = None;
        for t in 0..shape.t {
            let rows = &by_frame[t];
            let map = if src.fixed.is_some() {
                if static_map.is_none() {
                    let m = src.mask(t)?;
                    fg[k] = m.iter().filter(|&&b| b).count() as f64 / m.len().max(1) as f64
                        * shape.t as f64;
                    static_map = Some(edt::signed_distance(&m, src.dims, src.spacing));
                }
                static_map.as_ref().and_then(|m| m.as_deref()).map(std::borrow::Cow::Borrowed)
            } else {
                let m = src.mask(t)?;
                fg[k] += m.iter().filter(|&&b| b).count() as f64 / m.len().max(1) as f64;
                edt::signed_distance(&m, src.dims, src.spacing).map(std::borrow::Cow::Owned)
            };
            let Some(map) = map else {
                empty[k].push(t as u32);
                continue;
            };
            for &r in rows {
                let p =
                    [tracks.x_um[r], tracks.y_um[r], tracks.z_um.as_ref().map_or(0.0, |z| z[r])];
                dist[k][r] = edt::sample(&map, src.dims, src.spacing, p);
                let mut g = [0.0; 3];
                for a in 0..3 {
                    let h = src.spacing[a];
                    let (mut lo, mut hi) = (p, p);
                    lo[a] -= h;
                    hi[a] += h;
                    g[a] = if a == 2 && src.dims.nz == 1 {
                        0.0
                    } else {
                        (edt::sample(&map, src.dims, src.spacing, hi)
                            - edt::sample(&map, src.dims, src.spacing, lo))
                            / (2.0 * h)
                    };
                }
                grad[k][r] = g;
            }
        }
        fg[k] /= shape.t.max(1) as f64;
    }
    let by_track = tracks.rows_by_track();
    let mut out = Interactions {
        row: Vec::new(),
        partner: Vec::new(),
        distance_um: Vec::new(),
        gap_um: Vec::new(),
        in_contact: Vec::new(),
        approach_um_per_min: Vec::new(),
        approach_angle_deg: Vec::new(),
        contacts: Vec::new(),
        names: config.partner.iter().map(|p| p.name().to_string()).collect(),
        gap_method,
        partners: Vec::new(),
        per_track: Vec::new(),
        track_ids: by_track.iter().map(|rows| tracks.track_id.label(rows[0])).collect(),
    };
    let z = tracks.z_um.as_ref();
    let pos = |r: usize| [tracks.x_um[r], tracks.y_um[r], z.map_or(0.0, |z| z[r])];
    let step_speed = |a: usize, b: usize| {
        let (p, q) = (pos(a), pos(b));
        let d = ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2) + (q[2] - p[2]).powi(2)).sqrt();
        let dt = tracks.t_s[b] - tracks.t_s[a];
        if dt > 0.0 {
            d / dt * 60.0
        } else {
            f64::NAN
        }
    };
    for k in 0..np {
        let name = out.names[k].clone();
        let gap = |r: usize| dist[k][r] - radius[r];
        let contact = |r: usize| gap(r) <= config.contact_um;
        let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(by_track.len()); PER_TRACK.len()];
        let mut tracks_in_contact = 0;
        let first_contact = out.contacts.len();
        for (ti, rows) in by_track.iter().enumerate() {
            // interactions.csv rows, in the tracks table's order within the track.
            for (i, &r) in rows.iter().enumerate() {
                out.row.push(r);
                out.partner.push(k);
                out.distance_um.push(dist[k][r]);
                out.gap_um.push(gap(r));
                out.in_contact.push(contact(r));
                let (mut approach, mut angle) = (f64::NAN, f64::NAN);
                if i > 0 {
                    let a = rows[i - 1];
                    let dt = tracks.t_s[r] - tracks.t_s[a];
                    if dt > 0.0 {
                        approach = -(dist[k][r] - dist[k][a]) / dt * 60.0;
                    }
                    let (p, q, g) = (pos(a), pos(r), grad[k][a]);
                    let s = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
                    let (ns, ng) =
                        (crate::metrics::dot(s, s).sqrt(), crate::metrics::dot(g, g).sqrt());
                    if ns > 0.0 && ng > 0.0 {
                        angle = crate::metrics::acos(-crate::metrics::dot(s, g) / (ns * ng))
                            .to_degrees();
                    }
                }
                out.approach_um_per_min.push(approach);
                out.approach_angle_deg.push(angle);
            }
            // Contacts: runs of contact frames, up to contact_gap_frames apart.
            let mut runs: Vec<(usize, usize)> = Vec::new(); // (first, last) index into rows
            for (i, &r) in rows.iter().enumerate() {
                if !contact(r) {
                    continue;
                }
                match runs.last_mut() {
                    Some((_, last))
                        if tracks.frame[r] - tracks.frame[rows[*last]]
                            <= config.contact_gap_frames + 1 =>
                    {
                        *last = i
                    }
                    _ => runs.push((i, i)),
                }
            }
            let track_id = out.track_ids[ti].clone();
            let mut durations = Vec::new();
            for &(a, b) in &runs {
                let (fa, fb) = (tracks.frame[rows[a]], tracks.frame[rows[b]]);
                let duration_s = (fb - fa + 1) as f64 * frame_interval_s;
                let gaps: Vec<f64> =
                    rows[a..=b].iter().filter(|&&r| contact(r)).map(|&r| gap(r)).collect();
                let speeds: Vec<f64> = rows[a..=b]
                    .windows(2)
                    .map(|w| step_speed(w[0], w[1]))
                    .filter(|v| v.is_finite())
                    .collect();
                out.contacts.push(Contact {
                    track_id: track_id.clone(),
                    partner: name.clone(),
                    start_frame: fa,
                    end_frame: fb,
                    duration_s,
                    mean_gap_um: gaps.iter().sum::<f64>() / gaps.len().max(1) as f64,
                    speed_um_per_min: mean(&speeds),
                    stable: duration_s >= config.stable_contact_s,
                });
                durations.push(duration_s);
            }
            tracks_in_contact += (!runs.is_empty()) as usize;
            // Per-track columns.
            let in_frames = rows.iter().filter(|&&r| contact(r)).count();
            let measured = rows.iter().filter(|&&r| dist[k][r].is_finite()).count();
            let (mut sin, mut sout) = (Vec::new(), Vec::new());
            for w in rows.windows(2) {
                let v = step_speed(w[0], w[1]);
                if !v.is_finite() {
                    continue;
                }
                if contact(w[0]) && contact(w[1]) {
                    sin.push(v);
                } else if !contact(w[0]) && !contact(w[1]) {
                    sout.push(v);
                }
            }
            let arrest = |v: &[f64]| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().filter(|&&s| s < arrest_um_per_min).count() as f64 / v.len() as f64
                }
            };
            let path: f64 = rows
                .windows(2)
                .map(|w| {
                    let (p, q) = (pos(w[0]), pos(w[1]));
                    ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2) + (q[2] - p[2]).powi(2)).sqrt()
                })
                .sum();
            let (d0, d1) = (dist[k][rows[0]], dist[k][*rows.last().unwrap_or(&rows[0])]);
            let first = runs
                .first()
                .map(|&(a, _)| tracks.t_s[rows[a]] - tracks.t_s[rows[0]])
                .unwrap_or(f64::NAN);
            let ds: Vec<f64> = rows.iter().map(|&r| dist[k][r]).filter(|v| v.is_finite()).collect();
            let values = [
                runs.len() as f64,
                durations.iter().fold(0.0, |a, b| a + b),
                durations
                    .iter()
                    .copied()
                    .fold(if runs.is_empty() { f64::NAN } else { 0.0 }, f64::max),
                if runs.is_empty() {
                    f64::NAN
                } else {
                    durations.iter().fold(0.0, |a, b| a + b) / runs.len() as f64
                },
                if measured == 0 { f64::NAN } else { in_frames as f64 / measured as f64 },
                first,
                durations.iter().filter(|&&d| d >= config.stable_contact_s).count() as f64,
                mean(&sin),
                mean(&sout),
                arrest(&sin),
                arrest(&sout),
                mean(&ds),
                if path > 0.0 { (d0 - d1) / path } else { f64::NAN },
            ];
            for (c, v) in cols.iter_mut().zip(values) {
                c.push(v);
            }
        }
        for (suffix, col) in PER_TRACK.iter().zip(cols) {
            out.per_track.push((format!("{name}_{suffix}"), col));
        }
        let contacts = &out.contacts[first_contact..];
        out.partners.push(PartnerSummary {
            name: name.clone(),
            kind: config.partner[k].kind().to_string(),
            empty_frames: empty[k].clone(),
            foreground_fraction: fg[k],
            contacts: contacts.len(),
            stable_contacts: contacts.iter().filter(|c| c.stable).count(),
            tracks_in_contact,
        });
    }
    Ok(out)
}

/// The per-track columns, each prefixed `<partner>_` in `track_metrics.csv`.
pub const PER_TRACK: [&str; 13] = [
    "contacts",
    "contact_time_s",
    "longest_contact_s",
    "mean_contact_s",
    "fraction_in_contact",
    "time_to_first_contact_s",
    "stable_contacts",
    "speed_in_contact_um_per_min",
    "speed_out_of_contact_um_per_min",
    "arrest_in_contact",
    "arrest_out_of_contact",
    "mean_distance_um",
    "chemotactic_index",
];

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

impl Interactions {
    /// Writes `interactions.csv` and `contacts.csv` into `dir`, each atomically.
    pub fn write(&self, tracks: &Tracks, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("interactions.csv"), |w| self.write_interactions(tracks, w))?;
        write_atomic(&dir.join("contacts.csv"), |w| self.write_contacts(w))
    }

    /// `interactions.csv`'s text into `w`.
    pub fn write_interactions(
        &self,
        tracks: &Tracks,
        w: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let io = |e: csv::Error| std::io::Error::other(e.to_string());
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(INTERACTION_COLUMNS).map_err(io)?;
        for i in 0..self.row.len() {
            let r = self.row[i];
            csv.write_record([
                tracks.frame[r].to_string(),
                tracks.track_id.label(r),
                tracks.detection.as_ref().map(|d| d[r].to_string()).unwrap_or_default(),
                self.names[self.partner[i]].clone(),
                num(self.distance_um[i]),
                num(self.gap_um[i]),
                String::new(),
                String::new(),
                (self.in_contact[i] as u8).to_string(),
                num(self.approach_um_per_min[i]),
                num(self.approach_angle_deg[i]),
                self.gap_method.to_string(),
            ])
            .map_err(io)?;
        }
        csv.flush()
    }

    /// `contacts.csv`'s text into `w`.
    pub fn write_contacts(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let io = |e: csv::Error| std::io::Error::other(e.to_string());
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(CONTACT_COLUMNS).map_err(io)?;
        for c in &self.contacts {
            csv.write_record([
                c.track_id.clone(),
                c.partner.clone(),
                String::new(),
                c.start_frame.to_string(),
                c.end_frame.to_string(),
                fmt_f64(c.duration_s),
                num(c.mean_gap_um),
                num(c.speed_um_per_min),
                (c.stable as u8).to_string(),
            ])
            .map_err(io)?;
        }
        csv.flush()
    }

    /// Both tables as CSV text: (`interactions.csv`, `contacts.csv`).
    pub fn to_csv(&self, tracks: &Tracks) -> Result<(String, String)> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        self.write_interactions(tracks, &mut a).map_err(|e| Error::internal(e.to_string()))?;
        self.write_contacts(&mut b).map_err(|e| Error::internal(e.to_string()))?;
        let text = |v: Vec<u8>| String::from_utf8(v).map_err(|e| Error::internal(e.to_string()));
        Ok((text(a)?, text(b)?))
    }

    /// `summary.json`'s `interact`: the gap's method and the counts per partner.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({ "gap_method": self.gap_method, "partners": self.partners })
    }

    /// Adds the per-track columns to `metrics` (rows matched by track id).
    pub fn add_to(&self, metrics: &mut crate::metrics::TrackMetrics) {
        let index: std::collections::HashMap<&str, usize> =
            self.track_ids.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
        let rows: Vec<Option<usize>> = (0..metrics.len())
            .map(|i| index.get(metrics.track_id.label(i).as_str()).copied())
            .collect();
        for (name, col) in &self.per_track {
            let v = rows.iter().map(|r| r.map_or(f64::NAN, |r| col[r])).collect();
            metrics.extra.retain(|(n, _)| n != name);
            metrics.extra.push((name.clone(), v));
        }
    }
}

/// Empty for NaN (a distance where the partner is absent is empty, not zero).
fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        fmt_f64(v)
    }
}
