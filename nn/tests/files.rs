//! The data readers on the real files and on every kind of malformed file:
//! each returns an error naming the file and what was wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use nn::data::files::{load_digits, load_mnist, read_idx_images, read_idx_labels};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

fn class_counts(labels: &[usize]) -> Vec<usize> {
    (0..10)
        .map(|d| labels.iter().filter(|&&l| l == d).count())
        .collect()
}

#[test]
fn real_mnist_has_its_published_shape_and_class_counts() {
    let m = load_mnist(data_dir().join("mnist")).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert_eq!((m.train.images.rows, m.train.images.cols), (28, 28));
    assert_eq!(
        class_counts(&m.train.labels),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        class_counts(&m.test.labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let x = m.test.images.to_tensor::<f32>(&[0, 1]).unwrap();
    assert_eq!(x.shape(), &[2, 1, 28, 28]);
    assert!(x.data().iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn real_digits_have_1797_images_with_their_class_counts() {
    let d = load_digits(data_dir().join("digits/digits.csv.gz")).unwrap();
    assert_eq!(d.len(), 1797);
    assert_eq!(
        class_counts(&d.labels),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert!(d.images.pixels.iter().all(|&p| p <= 16));
}

/// A scratch folder of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-files-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gz(path: &Path, bytes: &[u8]) {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    std::fs::write(path, e.finish().unwrap()).unwrap();
}

fn idx(magic: u32, extents: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for e in extents {
        v.extend(e.to_be_bytes());
    }
    v.extend(data);
    v
}

#[test]
fn malformed_idx_files_are_errors_naming_the_file_and_the_fault() {
    let dir = scratch("idx");
    let p = dir.join("images.gz");
    let expect = |err: String, what: &str| {
        assert!(err.starts_with(&p.display().to_string()), "{err}");
        assert!(err.contains(what), "{err} lacks {what}");
    };
    // a valid file first
    gz(&p, &idx(0x803, &[2, 2, 3], &[7; 12]));
    let im = read_idx_images(&p).unwrap();
    assert_eq!((im.count, im.rows, im.cols, im.pixels.len()), (2, 2, 3, 12));
    // wrong magic (a label file where images are expected)
    gz(&p, &idx(0x801, &[12], &[0; 12]));
    expect(
        read_idx_images(&p).unwrap_err().to_string(),
        "wrong magic number 0x00000801, expected 0x00000803",
    );
    // truncated data
    gz(&p, &idx(0x803, &[2, 2, 3], &[7; 11]));
    expect(
        read_idx_images(&p).unwrap_err().to_string(),
        "truncated: the header [2, 2, 3] announces 12 bytes of data, the file holds 11",
    );
    // truncated header
    gz(&p, &[0, 0, 8, 3, 0, 0]);
    expect(
        read_idx_images(&p).unwrap_err().to_string(),
        "truncated: 6 bytes, the header needs 16",
    );
    gz(&p, &[0, 0]);
    expect(
        read_idx_images(&p).unwrap_err().to_string(),
        "too short for an IDX header",
    );
    // trailing bytes
    gz(&p, &idx(0x803, &[1, 2, 2], &[0; 5]));
    expect(
        read_idx_images(&p).unwrap_err().to_string(),
        "1 bytes after the 4 bytes of data",
    );
    // a broken gzip stream
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&p, bytes).unwrap();
    expect(
        read_idx_images(&p).unwrap_err().to_string(),
        "broken gzip stream",
    );
    // a label that is not a digit
    gz(&p, &idx(0x801, &[3], &[1, 12, 3]));
    expect(
        read_idx_labels(&p).unwrap_err().to_string(),
        "label 12 at index 1 is not a digit",
    );
    // no file at all
    let missing = dir.join("missing.gz");
    let err = read_idx_labels(&missing).unwrap_err().to_string();
    assert!(
        err.starts_with(&missing.display().to_string()) && err.contains("cannot read"),
        "{err}"
    );
    // uncompressed IDX is read too
    std::fs::write(&p, idx(0x801, &[2], &[4, 5])).unwrap();
    assert_eq!(read_idx_labels(&p).unwrap(), [4, 5]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_label_count_that_does_not_match_its_images_is_an_error() {
    let dir = scratch("mnist");
    for (name, data) in [
        (
            "train-images-idx3-ubyte.gz",
            idx(0x803, &[3, 2, 2], &[0; 12]),
        ),
        ("train-labels-idx1-ubyte.gz", idx(0x801, &[2], &[1, 2])),
        ("t10k-images-idx3-ubyte.gz", idx(0x803, &[1, 2, 2], &[0; 4])),
        ("t10k-labels-idx1-ubyte.gz", idx(0x801, &[1], &[0])),
    ] {
        gz(&dir.join(name), &data);
    }
    let err = load_mnist(&dir).unwrap_err();
    assert!(err.path.ends_with("train-labels-idx1-ubyte.gz"));
    assert_eq!(err.message, "2 labels for 3 images");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn malformed_digit_lines_are_errors_naming_file_and_line() {
    let dir = scratch("digits");
    let p = dir.join("digits.csv");
    let good = vec!["0"; 64].join(",") + ",3";
    let cases = [
        (
            format!("{good}\n{}", vec!["1"; 64].join(",")),
            "line 2: 64 fields, expected 65",
        ),
        (
            format!("{good}\n{}", good.replacen('0', "x", 1)),
            "line 2: field 1: 'x' is not a number",
        ),
        (
            good.replacen('0', "17", 1),
            "line 1: field 1: pixel 17 is not an integer in 0..=16",
        ),
        (
            good.replace(",3", ",10"),
            "line 1: field 65: label 10 is not an integer in 0..=9",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&p, text).unwrap();
        let err = load_digits(&p).unwrap_err().to_string();
        assert!(
            err.starts_with(&p.display().to_string()) && err.contains(want),
            "{err}"
        );
    }
    std::fs::write(&p, format!("{good}\n\n{good}\n")).unwrap();
    assert_eq!(load_digits(&p).unwrap().labels, [3, 3]);
    std::fs::remove_dir_all(dir).ok();
}
