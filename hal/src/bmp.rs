//! Minimal 24-bit BMP encoder and the test patterns the simulated board
//! "captures". The real board delivers BMP frames too (the guide's thumbnail
//! URLs end in `.bmp`), so the daemon handles one image format whatever the
//! backend.

/// Encodes `width` x `height` RGB pixels (row-major, top row first) as a
/// bottom-up 24-bit BMP.
pub fn encode(width: u32, height: u32, rgb: &[[u8; 3]]) -> Vec<u8> {
    let row = (width * 3).div_ceil(4) * 4;
    let data_len = row * height;
    let mut out = Vec::with_capacity(54 + data_len as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(54 + data_len).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(width as i32).to_le_bytes());
    out.extend_from_slice(&(height as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for y in (0..height).rev() {
        let start = out.len();
        for x in 0..width {
            let [r, g, b] = rgb
                .get((y * width + x) as usize)
                .copied()
                .unwrap_or([0, 0, 0]);
            out.extend_from_slice(&[b, g, r]);
        }
        out.resize(start + row as usize, 0);
    }
    out
}

/// Colour bars tinted per port, the picture a simulated source shows; black
/// when there is no signal.
pub fn test_pattern(width: u32, height: u32, port: u8, signal: bool) -> Vec<u8> {
    const BARS: [[u8; 3]; 7] = [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
    ];
    let mut px = Vec::with_capacity((width * height) as usize);
    for y in 0..height {
        for x in 0..width {
            if !signal {
                px.push([0, 0, 0]);
                continue;
            }
            let bar = BARS[((x * 7 / width.max(1)) as usize + port as usize) % 7];
            // A band at the bottom whose width encodes the port number, so
            // frames of different ports differ visibly.
            if y * 8 >= height * 7 && x * 8 < width * u32::from(port.min(8)) {
                px.push([255, 255, 255]);
            } else {
                px.push(bar);
            }
        }
    }
    encode(width, height, &px)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_size_are_consistent() {
        let img = test_pattern(160, 90, 1, true);
        assert_eq!(&img[..2], b"BM");
        let size = u32::from_le_bytes([img[2], img[3], img[4], img[5]]) as usize;
        assert_eq!(size, img.len());
        assert_eq!(img.len(), 54 + 480 * 90);
    }

    #[test]
    fn ports_and_signal_change_the_picture() {
        assert_ne!(test_pattern(16, 16, 1, true), test_pattern(16, 16, 2, true));
        assert_ne!(
            test_pattern(16, 16, 1, true),
            test_pattern(16, 16, 1, false)
        );
    }
}
