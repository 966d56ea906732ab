//! The report's chart: grouped bars drawn into an RGB canvas with a built-in 5×7 pixel font, and
//! encoded as PNG.
//!
//! Hand-made, not a plotting crate: one chart kind, a few hundred lines, and no new build cost.
//! `flate2` and `crc32fast` (for PNG's zlib stream and checksums) already come with serenity.
//! Pure: values in, PNG bytes out.

use std::io::Write;

/// A colour.
pub type Rgb = [u8; 3];

/// One series of bars: a legend label, a colour, a value per bucket.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend text (upper case letters, digits, space and `-/:.%`).
    pub label: &'a str,
    /// Bar colour.
    pub color: Rgb,
    /// One value per bucket.
    pub values: &'a [u32],
}

/// Image size.
pub const WIDTH: usize = 800;
/// Image size.
pub const HEIGHT: usize = 360;
/// The plot area: bars stand on `PLOT_BOTTOM` and reach at most `PLOT_TOP`.
pub const PLOT_TOP: usize = 64;
/// See [`PLOT_TOP`].
pub const PLOT_BOTTOM: usize = 316;
const PLOT_LEFT: usize = 64;
const PLOT_RIGHT: usize = WIDTH - 24;

/// Discord's dark theme, so the image sits well in the client.
pub const BACKGROUND: Rgb = [0x2b, 0x2d, 0x31];
const TEXT: Rgb = [0xdb, 0xde, 0xe1];
const GRID: Rgb = [0x40, 0x42, 0x49];
/// Colours for the report's series.
pub const BLURPLE: Rgb = [0x58, 0x65, 0xf2];
/// See [`BLURPLE`].
pub const GREEN: Rgb = [0x57, 0xf2, 0x87];

/// A grouped bar chart: a group per label, a bar per series, an axis from 0 with its top
/// labelled, the title top left and the legend top right.
pub fn bar_chart(title: &str, labels: &[String], series: &[Series<'_>]) -> Vec<u8> {
    let mut c = Canvas::new(WIDTH, HEIGHT, BACKGROUND);
    c.text(PLOT_LEFT, 16, title, 2, TEXT);
    // Legend, right-aligned.
    let mut x = PLOT_RIGHT;
    for s in series.iter().rev() {
        x -= text_width(s.label, 2);
        c.text(x, 16, s.label, 2, TEXT);
        x -= 20;
        c.fill(x, 16, 14, 14, s.color);
        x -= 16;
    }
    let max = series.iter().flat_map(|s| s.values.iter().copied()).max().unwrap_or(0);
    let top = axis_top(max);
    let plot_h = PLOT_BOTTOM - PLOT_TOP;
    for (value, y) in [(0, PLOT_BOTTOM), (top / 2, PLOT_TOP + plot_h / 2), (top, PLOT_TOP)] {
        c.fill(PLOT_LEFT, y, PLOT_RIGHT - PLOT_LEFT, 1, GRID);
        let label = value.to_string();
        c.text(PLOT_LEFT - 8 - text_width(&label, 2), y - 7, &label, 2, TEXT);
    }
    let n = labels.len().max(1);
    let group = (PLOT_RIGHT - PLOT_LEFT) / n;
    let bar = (group * 4 / 5 / series.len().max(1)).max(1);
    // Label every k-th group so labels never overlap.
    let label_w = labels.iter().map(|l| text_width(l, 1)).max().unwrap_or(0) + 6;
    let every = label_w.div_ceil(group.max(1)).max(1);
    for (i, label) in labels.iter().enumerate() {
        let gx = PLOT_LEFT + i * group + group / 10;
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0);
            let h = bar_height(v, top, plot_h);
            c.fill(gx + j * bar, PLOT_BOTTOM - h, bar.saturating_sub(1).max(1), h, s.color);
        }
        if i % every == 0 {
            let center = PLOT_LEFT + i * group + group / 2;
            let lx = center.saturating_sub(text_width(label, 1) / 2);
            c.text(lx, PLOT_BOTTOM + 10, label, 1, TEXT);
        }
    }
    encode_png(WIDTH, HEIGHT, &c.px)
}

/// The axis' top: the largest value rounded up to an even number (so the middle line is a whole
/// number), at least 2.
pub fn axis_top(max: u32) -> u32 {
    max.max(1).div_ceil(2) * 2
}

/// Pixels of a bar of `value` on an axis up to `top`, `plot_h` high.
pub fn bar_height(value: u32, top: u32, plot_h: usize) -> usize {
    let h = u64::from(value) * plot_h as u64 / u64::from(top.max(1));
    usize::try_from(h).unwrap_or(plot_h).min(plot_h)
}

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize, bg: Rgb) -> Canvas {
        Canvas {
            w,
            h,
            px: bg.repeat(w * h),
        }
    }

    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, color: Rgb) {
        for yy in y..(y + h).min(self.h) {
            for xx in x..(x + w).min(self.w) {
                let i = (yy * self.w + xx) * 3;
                self.px[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, color: Rgb) {
        let mut cx = x;
        for ch in text.chars() {
            let rows = glyph(ch.to_ascii_uppercase());
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.fill(cx + col * scale, y + r * scale, scale, scale, color);
                    }
                }
            }
            cx += 6 * scale;
        }
    }
}

fn text_width(text: &str, scale: usize) -> usize {
    (text.chars().count() * 6).saturating_sub(1) * scale
}

/// A 5×7 glyph, one byte per row, bit 4 leftmost. Unknown characters are blank.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        _ => [0; 7],
    }
}

/// PNG of an 8-bit RGB image (`rgb` is `width × height × 3` bytes, rows top to bottom).
pub fn encode_png(width: usize, height: usize, rgb: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(height * (width * 3 + 1));
    for row in rgb.chunks(width * 3).take(height) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&raw);
    let idat = z.finish().unwrap_or_default();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&u32::try_from(width).unwrap_or(0).to_be_bytes());
    ihdr.extend_from_slice(&u32::try_from(height).unwrap_or(0).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter variant, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &idat[..]), (b"IEND", &[][..])] {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Decodes what [`encode_png`] writes, checking every chunk's CRC: (width, height, rgb).
    pub(crate) fn decode(png: &[u8]) -> (usize, usize, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (mut at, mut dims, mut idat) = (8, (0, 0), Vec::new());
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(&png[at + 4..at + 8 + len]), "CRC of {kind:?}");
            match kind {
                b"IHDR" => {
                    let w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                    let h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                    assert_eq!(&data[8..13], &[8, 2, 0, 0, 0]);
                    dims = (w, h);
                }
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => assert_eq!(at + 12 + len, png.len(), "IEND is last"),
                other => panic!("unexpected chunk {other:?}"),
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
        let (w, h) = dims;
        assert_eq!(raw.len(), h * (w * 3 + 1));
        let mut rgb = Vec::new();
        for row in raw.chunks(w * 3 + 1) {
            assert_eq!(row[0], 0, "filter none");
            rgb.extend_from_slice(&row[1..]);
        }
        (w, h, rgb)
    }

    /// For each run of adjacent columns holding `color` inside the plot, its tallest column.
    fn bars(w: usize, rgb: &[u8], color: Rgb) -> Vec<usize> {
        let height_at = |x: usize| {
            (PLOT_TOP..PLOT_BOTTOM)
                .filter(|&y| rgb[(y * w + x) * 3..(y * w + x) * 3 + 3] == color)
                .count()
        };
        let mut out = Vec::new();
        let mut run = 0;
        for x in 0..w {
            let h = height_at(x);
            if h > 0 {
                run = run.max(h);
            } else if run > 0 {
                out.push(run);
                run = 0;
            }
        }
        out
    }

    #[test]
    fn a_png_round_trips_through_a_decoder() {
        let rgb: Vec<u8> = (0..30u8).collect();
        let png = encode_png(5, 2, &rgb);
        assert_eq!(decode(&png), (5, 2, rgb));
    }

    #[test]
    fn bars_stand_on_the_axis_and_are_as_tall_as_their_values() {
        let labels: Vec<String> = ["11-25", "11-26", "11-27", "11-28"].map(String::from).to_vec();
        let opened = [0, 3, 6, 2];
        let resolved = [1, 0, 6, 0];
        let png = bar_chart(
            "OPENED AND RESOLVED",
            &labels,
            &[
                Series {
                    label: "OPENED",
                    color: BLURPLE,
                    values: &opened,
                },
                Series {
                    label: "RESOLVED",
                    color: GREEN,
                    values: &resolved,
                },
            ],
        );
        let (w, h, rgb) = decode(&png);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let plot = PLOT_BOTTOM - PLOT_TOP;
        let expect = |vals: &[u32]| -> Vec<usize> {
            vals.iter()
                .filter(|&&v| v > 0)
                .map(|&v| bar_height(v, axis_top(6), plot))
                .collect()
        };
        assert_eq!(bars(w, &rgb, BLURPLE), expect(&opened));
        assert_eq!(bars(w, &rgb, GREEN), expect(&resolved));
        // The tallest bar reaches the top of the axis.
        assert_eq!(bar_height(6, axis_top(6), plot), plot);
    }

    #[test]
    fn an_empty_period_draws_an_axis_and_no_bars() {
        let labels = vec!["12-01".to_owned()];
        let png = bar_chart(
            "NOTHING",
            &labels,
            &[Series {
                label: "OPENED",
                color: BLURPLE,
                values: &[0],
            }],
        );
        let (w, _, rgb) = decode(&png);
        assert!(bars(w, &rgb, BLURPLE).is_empty());
        assert_eq!(axis_top(0), 2);
    }

    #[test]
    fn ninety_labels_fit_without_panicking() {
        let labels: Vec<String> = (0..90)
            .map(|i| format!("{:02}-{:02}", 1 + i / 30, 1 + i % 30))
            .collect();
        let values: Vec<u32> = (0..90).collect();
        let png = bar_chart(
            "BUSY",
            &labels,
            &[Series {
                label: "OPENED",
                color: BLURPLE,
                values: &values,
            }],
        );
        assert_eq!(bars(decode(&png).0, &decode(&png).2, BLURPLE).len(), 89);
    }
}
