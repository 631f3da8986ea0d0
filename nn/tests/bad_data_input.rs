//! The data helpers refuse what they cannot honour — out-of-range indices,
//! inconsistent public fields, NaN noise or fractions, a batch size of 0,
//! gzip members they would drop, an empty file — with an error naming the
//! operation (or the file), never a panic or a silently wrong result.

use std::io::Write;

use autodiff::{ErrorKind, Tensor};
use flate2::write::GzEncoder;
use flate2::Compression;
use nn::data::files::{load_digits, read_idx_labels, Images, Labelled};
use nn::data::{train_test_split, Batches, Dataset};

fn images() -> Images {
    Images {
        count: 2,
        rows: 1,
        cols: 2,
        pixels: vec![0, 255, 51, 102],
        max_value: 255,
    }
}

#[test]
fn dataset_generation_refuses_nan_negative_or_excessive_noise() {
    for d in [
        Dataset::Circle,
        Dataset::Xor,
        Dataset::Gauss,
        Dataset::Spiral,
    ] {
        for noise in [f64::NAN, -0.1, 0.51, f64::INFINITY] {
            let e = d.generate(10, noise, 1).unwrap_err();
            assert_eq!(
                (e.kind(), e.op()),
                (ErrorKind::Argument, "Dataset::generate")
            );
            assert!(e.to_string().contains(file!()), "{e}");
        }
        assert_eq!(d.generate(10, 0.5, 1).unwrap().len(), 10);
    }
}

#[test]
fn points_select_refuses_indices_out_of_range_and_mismatched_fields() {
    let p = Dataset::Xor.generate(4, 0.0, 0).unwrap();
    let e = p.select(&[0, 4]).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Index, "Points::select"));
    assert!(e.message().contains("index 4 (position 1)"), "{e}");
    let mut broken = p.clone();
    broken.labels.pop();
    assert_eq!(broken.select(&[0]).unwrap_err().kind(), ErrorKind::Shape);
}

#[test]
fn images_refuse_indices_out_of_range() {
    let im = images();
    assert_eq!(im.image(1).unwrap(), &[51, 102]);
    let e = im.image(2).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Index, "Images::image"));
    let e = im.to_tensor::<f32>(&[1, 7]).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Index, "Images::to_tensor"));
    assert!(e.to_string().contains(file!()), "{e}");
    assert!(im.image(usize::MAX).is_err());
}

#[test]
fn images_with_inconsistent_public_fields_are_an_error_not_a_panic() {
    let broken = [
        Images {
            count: 3,
            ..images()
        },
        Images {
            rows: 5,
            ..images()
        },
        Images {
            pixels: vec![1, 2, 3],
            ..images()
        },
        Images {
            rows: usize::MAX,
            cols: 2,
            ..images()
        },
    ];
    for im in broken {
        let e = im.to_tensor::<f64>(&[0]).unwrap_err();
        assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "Images::to_tensor"));
        assert!(e.message().contains("`pixels` holds"), "{e}");
        assert_eq!(im.image(0).unwrap_err().kind(), ErrorKind::Shape);
    }
}

#[test]
fn labelled_select_refuses_indices_out_of_range_and_mismatched_labels() {
    let set = Labelled {
        images: images(),
        labels: vec![3, 4],
    };
    assert_eq!(set.select(&[1, 0]).unwrap().labels, [4, 3]);
    let e = set.select(&[2]).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Index, "Labelled::select"));
    let short = Labelled {
        images: images(),
        labels: vec![3],
    };
    let e = short.select(&[0]).unwrap_err();
    assert_eq!((e.kind(), e.op()), (ErrorKind::Shape, "Labelled::select"));
}

#[test]
fn train_test_split_refuses_a_fraction_that_is_not_in_0_to_1() {
    for f in [f64::NAN, -0.1, 1.5, f64::INFINITY] {
        let e = train_test_split(10, f, 1).unwrap_err();
        assert_eq!(
            (e.kind(), e.op()),
            (ErrorKind::Argument, "train_test_split")
        );
    }
    assert_eq!(train_test_split(10, 1.0, 1).unwrap().1.len(), 10);
    assert_eq!(train_test_split(10, 0.0, 1).unwrap().0.len(), 10);
}

#[test]
fn a_batch_size_of_zero_is_an_error() {
    let e = Batches::new(10, 0, 1)
        .err()
        .expect("batch size 0 is refused");
    assert_eq!((e.kind(), e.op()), (ErrorKind::Argument, "Batches::new"));
}

#[test]
fn accuracy_never_counts_a_nan_row_as_correct() {
    // the first row is all NaN (argmax would say 0), the second NaN at one entry
    let z = Tensor::from_vec(vec![f64::NAN, f64::NAN, 0.2, f64::NAN, 0.9, 0.1], &[3, 2]).unwrap();
    assert_eq!(nn::loss::accuracy(&z, &[0, 0, 0]).unwrap(), 1.0 / 3.0);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_gzip_file_of_two_members_is_read_whole() {
    // IDX labels split across two gzip members, as `cat a.gz b.gz` makes:
    // the data is the concatenation (RFC 1952), not the first member alone
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.gz");
    let mut file = gzip(&[0, 0, 8, 1, 0, 0, 0, 4, 1, 2]);
    file.extend(gzip(&[3, 4]));
    std::fs::write(&path, file).unwrap();
    assert_eq!(read_idx_labels(&path).unwrap(), [1, 2, 3, 4]);
}

#[test]
fn bytes_after_the_last_gzip_member_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.gz");
    let mut file = gzip(&[0, 0, 8, 1, 0, 0, 0, 2, 1, 2]);
    file.extend(b"trailing garbage");
    std::fs::write(&path, file).unwrap();
    let e = read_idx_labels(&path).unwrap_err().to_string();
    assert!(e.starts_with(&path.display().to_string()), "{e}");
    assert!(e.contains("broken gzip stream"), "{e}");
}

#[test]
fn an_empty_digits_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in [("empty.csv", &b""[..]), ("blank.csv", b"\n \n\n")] {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let e = load_digits(&path).unwrap_err().to_string();
        assert!(e.contains("holds no examples"), "{e}");
    }
    let path = dir.path().join("empty.csv.gz");
    std::fs::write(&path, gzip(b"")).unwrap();
    assert!(load_digits(&path).is_err());
}
