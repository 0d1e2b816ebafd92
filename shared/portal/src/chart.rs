//! Charts drawn on the server as inline SVG: bars (one value per label,
//! e.g. energy per month or a spot price per hour) and a line over time
//! (e.g. a session's power). No script and no chart library to ship: a
//! chart is part of the page's HTML, prints, and works without JavaScript.
//!
//! Each chart is a `<figure>` whose SVG has `role="img"` with a title and a
//! one-line summary for screen readers, and the same figures follow in a
//! table (inside `<details>`), so nothing is only in the picture. Values are
//! `Decimal` (amounts and energy are never floats); only the drawing's
//! coordinates are computed in `f64`.

use crate::i18n::{self, Msg};
use csms_domain::tenant::Language;
use maud::{html, Markup, PreEscaped};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// The drawing's size in SVG units (it scales to the page's width).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
/// Room for the value axis on the left and the labels below.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
/// At most this many labels under the bars (every n-th is shown).
const MAX_LABELS: usize = 12;

/// What a chart shows, for its title, its table and its numbers.
pub struct Chart<'a> {
    /// Unique on the page: the SVG's title and summary are found by it.
    pub id: &'a str,
    pub title: &'a str,
    /// The unit after each value (`kWh`, `kr/kWh`, `kW`).
    pub unit: &'a str,
    /// Decimals shown in the table and on the axis.
    pub decimals: u32,
    /// The heading of the table's first column (`Hour`, `Month`).
    pub label_heading: &'a str,
    pub lang: Language,
}

/// One bar, or one point of a line: what is written under it (or in the
/// table) and its value.
pub struct Point {
    pub label: String,
    pub value: Decimal,
}

/// The chart's value range: from zero (or the lowest negative value) to a
/// round number at or above the highest value.
fn range(points: &[Point]) -> (Decimal, Decimal) {
    let max = points.iter().map(|p| p.value).max().unwrap_or_default();
    let min = points.iter().map(|p| p.value).min().unwrap_or_default();
    let low = min.min(Decimal::ZERO);
    let high = nice_ceiling(max.max(Decimal::ZERO));
    if high == low {
        (low, low + Decimal::ONE)
    } else {
        (low, high)
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `v` (for the axis).
fn nice_ceiling(v: Decimal) -> Decimal {
    if v <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let mut step = Decimal::new(1, 6);
    loop {
        for m in [
            Decimal::ONE,
            Decimal::TWO,
            Decimal::new(25, 1),
            Decimal::new(5, 0),
        ] {
            let candidate = step * m;
            if candidate >= v {
                return candidate;
            }
        }
        match step.checked_mul(Decimal::TEN) {
            Some(next) => step = next,
            None => return v,
        }
    }
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The y coordinate of `v` in the plotting area.
fn y_of(v: Decimal, (low, high): (Decimal, Decimal)) -> f64 {
    let span = f(high - low);
    let share = if span > 0.0 { f(v - low) / span } else { 0.0 };
    TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - share)
}

/// The value axis: the bottom, middle and top value with grid lines.
fn axis(chart: &Chart, range: (Decimal, Decimal)) -> Markup {
    let (low, high) = range;
    let mid = (low + high) / Decimal::TWO;
    html! {
        @for v in [low, mid, high] {
            @let y = y_of(v, range);
            line.chart-grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y) y2=(y) {}
            text.chart-axis x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" {
                (i18n::number(v, chart.decimals.min(2), chart.lang))
            }
        }
    }
}

/// Which labels are written under the axis (every n-th, at most
/// [`MAX_LABELS`]).
fn label_every(n: usize) -> usize {
    n.div_ceil(MAX_LABELS).max(1)
}

fn summary(chart: &Chart, points: &[Point]) -> String {
    let lang = chart.lang;
    match (
        points.iter().max_by_key(|p| p.value),
        points.iter().min_by_key(|p| p.value),
    ) {
        (Some(hi), Some(lo)) => format!(
            "{}: {} {} ({}), {}: {} {} ({})",
            Msg::ChartHighest.text(lang),
            i18n::number(hi.value, chart.decimals, lang),
            chart.unit,
            hi.label,
            Msg::ChartLowest.text(lang),
            i18n::number(lo.value, chart.decimals, lang),
            chart.unit,
            lo.label,
        ),
        _ => Msg::ChartEmpty.text(lang).to_owned(),
    }
}

/// The figure around a drawing: title, the SVG, and the table.
fn figure(chart: &Chart, points: &[Point], drawing: Markup) -> Markup {
    let lang = chart.lang;
    let title_id = format!("{}-title", chart.id);
    let desc_id = format!("{}-desc", chart.id);
    html! {
        figure.chart id=(chart.id) {
            figcaption { (chart.title) " (" (chart.unit) ")" }
            @if points.is_empty() {
                p.empty { (Msg::ChartEmpty.text(lang)) }
            } @else {
                svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
                    aria-labelledby=(format!("{title_id} {desc_id}"))
                    preserveAspectRatio="xMidYMid meet" {
                    title id=(title_id) { (chart.title) }
                    desc id=(desc_id) { (summary(chart, points)) }
                    (drawing)
                }
                details {
                    summary { (Msg::ChartAsTable.text(lang)) }
                    table {
                        thead { tr { th scope="col" { (chart.label_heading) } th scope="col" { (chart.unit) } } }
                        tbody {
                            @for p in points {
                                tr { td { (p.label) } td.num { (i18n::number(p.value, chart.decimals, lang)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A bar chart: one bar per point, in order.
pub fn bars(chart: &Chart, points: &[Point]) -> Markup {
    let range = range(points);
    let n = points.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    let width = (slot * 0.8).max(1.0);
    let zero = y_of(Decimal::ZERO, range);
    let every = label_every(points.len());
    let drawing = html! {
        (axis(chart, range))
        @for (i, p) in points.iter().enumerate() {
            @let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
            @let y = y_of(p.value, range);
            @let (top, h) = if y < zero { (y, zero - y) } else { (zero, y - zero) };
            rect.chart-bar x=(fmt(x)) y=(fmt(top)) width=(fmt(width)) height=(fmt(h.max(0.5))) {
                title { (p.label) ": " (i18n::number(p.value, chart.decimals, chart.lang)) " " (chart.unit) }
            }
            @if i % every == 0 {
                text.chart-axis x=(fmt(x + width / 2.0)) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" { (p.label) }
            }
        }
    };
    figure(chart, points, drawing)
}

/// A line through the points, evenly spaced in their order (a series
/// taken at regular times, or read at its own times with the labels saying
/// when).
// Drawn by the prices and sessions pages, being built on branches; the
// first of them merged takes this allow away.
#[allow(dead_code)]
pub fn line(chart: &Chart, points: &[Point]) -> Markup {
    let range = range(points);
    let n = points.len();
    let step = if n > 1 {
        (WIDTH - LEFT - RIGHT) / (n - 1) as f64
    } else {
        0.0
    };
    let coords: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", LEFT + step * i as f64, y_of(p.value, range)))
        .collect();
    let every = label_every(n);
    let drawing = html! {
        (axis(chart, range))
        polyline.chart-line points=(coords.join(" ")) {}
        @for (i, p) in points.iter().enumerate() {
            @if i % every == 0 || i + 1 == n {
                text.chart-axis x=(fmt(LEFT + step * i as f64)) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" { (p.label) }
            }
        }
    };
    figure(chart, points, drawing)
}

/// A coordinate with one decimal (short, exact enough for a drawing).
fn fmt(v: f64) -> PreEscaped<String> {
    PreEscaped(format!("{v:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn chart(lang: Language) -> Chart<'static> {
        Chart {
            id: "energy",
            title: "Energy",
            unit: "kWh",
            decimals: 1,
            label_heading: "Month",
            lang,
        }
    }

    fn points() -> Vec<Point> {
        vec![
            Point {
                label: "Jan".into(),
                value: d("120.5"),
            },
            Point {
                label: "Feb".into(),
                value: d("80"),
            },
            Point {
                label: "Mar".into(),
                value: d("0"),
            },
        ]
    }

    #[test]
    fn the_axis_ends_on_a_round_number_at_or_above_the_highest_value() {
        assert_eq!(nice_ceiling(d("120.5")), d("200"));
        assert_eq!(nice_ceiling(d("2.3")), d("2.5"));
        assert_eq!(nice_ceiling(d("0.41")), d("0.5"));
        assert_eq!(nice_ceiling(d("5")), d("5"));
        assert_eq!(range(&points()), (d("0"), d("200")));
        let negative = vec![Point {
            label: "a".into(),
            value: d("-0.3"),
        }];
        assert_eq!(range(&negative), (d("-0.3"), d("0")));
    }

    #[test]
    fn a_bar_chart_has_one_bar_per_value_and_says_its_figures_in_a_table() {
        let html = bars(&chart(Language::Sv), &points()).into_string();
        assert_eq!(html.matches("<rect").count(), 3);
        assert!(html.contains("role=\"img\""));
        assert!(html.contains("<td class=\"num\">120,5</td>"), "{html}");
        assert!(html.contains("Högst: 120,5 kWh (Jan)"), "{html}");
        // The tallest bar reaches the top of the axis' range at 200 only
        // partly: 120.5 / 200 of the plotting area.
        let plot = HEIGHT - TOP - BOTTOM;
        let expected = format!("height=\"{:.1}\"", plot * 120.5 / 200.0);
        assert!(html.contains(&expected), "{expected} in {html}");
    }

    #[test]
    fn a_line_goes_through_every_point_and_an_empty_chart_says_so() {
        let html = line(&chart(Language::En), &points()).into_string();
        let pts = html
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(pts.split(' ').count(), 3);
        assert!(html.contains("Highest: 120.5 kWh (Jan)"));
        let empty = line(&chart(Language::En), &[]).into_string();
        assert!(!empty.contains("<svg"));
        assert!(empty.contains(Msg::ChartEmpty.text(Language::En)));
    }
}
