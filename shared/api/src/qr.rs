//! QR codes of start links, as SVG and PNG.
//!
//! Error correction level M (15 %: a sticker on a charger gets scratched),
//! a quiet zone of 4 modules (what the standard asks for, so phones find
//! the code on any background), dark on white. The SVG is drawn at
//! [`SVG_MODULE`] units a module and scales without loss; the PNG is drawn
//! from the matrix at a whole number of pixels a module, as close to the
//! asked size as that allows (never above it, and at least one pixel a
//! module).

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light margin on each side.
pub const QUIET_ZONE: usize = 4;
/// The size of a PNG when none is asked for, in pixels.
pub const DEFAULT_PNG_SIZE: u32 = 400;
/// The sizes a PNG may be asked in.
pub const PNG_SIZES: std::ops::RangeInclusive<u32> = 100..=2000;
/// SVG units a module.
const SVG_MODULE: u32 = 8;

fn code(text: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("the link does not fit a QR code: {e}"))
}

/// The QR code of `text` as an SVG document.
pub fn svg(text: &str) -> Result<String, String> {
    Ok(code(text)?
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .module_dimensions(SVG_MODULE, SVG_MODULE)
        .build())
}

/// The QR code of `text` as an 8-bit greyscale PNG of at most `size`
/// pixels a side (a whole number of pixels a module, at least one).
pub fn png(text: &str, size: u32) -> Result<Vec<u8>, String> {
    let code = code(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side_modules = modules + 2 * QUIET_ZONE;
    let scale = (size as usize / side_modules).max(1);
    let side = side_modules * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * scale..(my + 1) * scale {
            pixels[y * side + mx * scale..y * side + (mx + 1) * scale].fill(0);
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).map_err(|_| "the QR code is too large".to_owned())?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const LINK: &str = "https://csms.example.com/api/v1/start/k7qbz2m4xwa3ncd5ef6ghj2kl3mn4pq5";

    /// What a phone reads from a greyscale picture (`0` dark).
    pub(crate) fn read(width: usize, height: usize, grey: impl Fn(usize, usize) -> u8) -> String {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, grey);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the picture");
        grids[0].decode().expect("the code decodes").1
    }

    /// The PNG's pixels: width, height, greyscale bytes.
    pub(crate) fn png_pixels(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!(info.color_type, ::png::ColorType::Grayscale);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    /// The SVG's dark rectangles (`M{x} {y}h{w}v{h}H{x}V{y}`) drawn on a
    /// white picture: width, height, pixels.
    pub(crate) fn svg_pixels(svg: &str) -> (usize, usize, Vec<u8>) {
        let attr = |name: &str| -> usize {
            let at = svg.find(&format!(" {name}=\"")).expect("an attribute") + name.len() + 3;
            svg[at..].split('"').next().unwrap().parse().unwrap()
        };
        let (w, h) = (attr("width"), attr("height"));
        let mut pixels = vec![255u8; w * h];
        let path = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for rect in path.split('M').filter(|r| !r.is_empty()) {
            let nums: Vec<usize> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().unwrap())
                .collect();
            let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
            for yy in y..y + rh {
                pixels[yy * w + x..yy * w + x + rw].fill(0);
            }
        }
        (w, h, pixels)
    }

    #[test]
    fn the_svg_reads_back_as_the_link_with_its_quiet_zone() {
        let svg = svg(LINK).unwrap();
        assert!(svg.contains("<svg") && svg.contains("viewBox"));
        let (w, h, px) = svg_pixels(&svg);
        assert_eq!(w, h);
        // The quiet zone: the outer 4 modules are white all round.
        let margin = QUIET_ZONE * SVG_MODULE as usize;
        for i in 0..w {
            for j in 0..margin {
                assert_eq!(px[j * w + i], 255);
                assert_eq!(px[i * w + j], 255);
                assert_eq!(px[(h - 1 - j) * w + i], 255);
                assert_eq!(px[i * w + (w - 1 - j)], 255);
            }
        }
        assert_eq!(read(w, h, |x, y| px[y * w + x]), LINK);
    }

    #[test]
    fn the_png_reads_back_as_the_link_at_the_size_asked_or_just_under() {
        for size in [*PNG_SIZES.start(), DEFAULT_PNG_SIZE, 1000] {
            let bytes = png(LINK, size).unwrap();
            let (w, h, px) = png_pixels(&bytes);
            assert_eq!(w, h);
            assert!(w as u32 <= size && w as u32 > size / 2, "{size}: {w}");
            assert_eq!(read(w, h, |x, y| px[y * w + x]), LINK, "at {size}");
        }
    }
}
