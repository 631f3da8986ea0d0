//! The Playground datasets against their definitions, the features, and the
//! split and batch helpers.

use nn::data::{features, rows, train_test_split, Batches, Dataset, Feature};

#[test]
fn circle_points_lie_in_the_disc_or_the_ring_half_and_half() {
    let p = Dataset::Circle.generate(500, 0.0, 7).unwrap();
    assert_eq!(p.len(), 500);
    assert_eq!(p.labels.iter().filter(|&&l| l == 1).count(), 250);
    for (xy, &l) in p.xy.iter().zip(&p.labels) {
        let r = xy[0].hypot(xy[1]);
        if l == 1 {
            assert!(r <= 2.5);
        } else {
            assert!((3.5..=5.0).contains(&r), "ring point at radius {r}");
        }
    }
    // with noise, labels follow the noised position, so some points cross over
    let noisy = Dataset::Circle.generate(500, 0.5, 7).unwrap();
    let flipped = noisy
        .xy
        .iter()
        .zip(&noisy.labels)
        .filter(|(xy, &l)| (xy[0].hypot(xy[1]) < 2.5) != (l == 1))
        .count();
    assert!(flipped > 0);
}

#[test]
fn xor_points_are_padded_away_from_the_axes_and_labelled_by_quadrant() {
    let p = Dataset::Xor.generate(400, 0.0, 3).unwrap();
    for (xy, &l) in p.xy.iter().zip(&p.labels) {
        assert!(xy[0].abs() >= 0.3 && xy[1].abs() >= 0.3 && xy[0].abs() <= 5.3);
        assert_eq!(l == 1, xy[0] * xy[1] >= 0.0);
    }
}

#[test]
fn gauss_blobs_have_their_centres_and_variances() {
    for (noise, variance) in [(0.0, 0.5), (0.5, 4.0)] {
        let p = Dataset::Gauss.generate(4000, noise, 11).unwrap();
        for (label, centre) in [(1, 2.0), (0, -2.0)] {
            let xs: Vec<f64> =
                p.xy.iter()
                    .zip(&p.labels)
                    .filter(|(_, &l)| l == label)
                    .map(|(xy, _)| xy[0])
                    .collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
            assert!((mean - centre).abs() < 0.15, "noise {noise}: mean {mean}");
            assert!(
                (var / variance - 1.0).abs() < 0.1,
                "noise {noise}: variance {var}, expected {variance}"
            );
        }
    }
}

#[test]
fn spiral_points_follow_r_of_t() {
    let n = 200;
    let p = Dataset::Spiral.generate(n, 0.0, 1).unwrap();
    for (i, xy) in p.xy.iter().enumerate() {
        let k = i % (n / 2);
        let r = 5.0 * k as f64 / (n / 2) as f64;
        assert!((xy[0].hypot(xy[1]) - r).abs() < 1e-12);
        let t = 1.75 * k as f64 / (n / 2) as f64 * 2.0 * std::f64::consts::PI
            + if i < n / 2 { 0.0 } else { std::f64::consts::PI };
        assert!((xy[0] - r * t.sin()).abs() < 1e-12 && (xy[1] - r * t.cos()).abs() < 1e-12);
        assert_eq!(p.labels[i], usize::from(i < n / 2));
    }
}

#[test]
fn datasets_are_reproducible_from_their_seed() {
    for d in [
        Dataset::Circle,
        Dataset::Xor,
        Dataset::Gauss,
        Dataset::Spiral,
    ] {
        assert_eq!(
            d.generate(50, 0.2, 5).unwrap(),
            d.generate(50, 0.2, 5).unwrap()
        );
        assert_ne!(
            d.generate(50, 0.2, 5).unwrap(),
            d.generate(50, 0.2, 6).unwrap()
        );
    }
}

#[test]
fn the_seven_features_and_their_names() {
    let p = Dataset::Xor.generate(3, 0.0, 2).unwrap();
    let x = features::<f64>(&p, &Feature::ALL);
    assert_eq!(x.shape(), &[3, 7]);
    for (r, xy) in p.xy.iter().enumerate() {
        let (a, b) = (xy[0], xy[1]);
        let want = [a, b, a * a, b * b, a * b, a.sin(), b.sin()];
        assert_eq!(&x.data()[r * 7..(r + 1) * 7], &want);
    }
    for f in Feature::ALL {
        assert_eq!(f.name().parse::<Feature>().unwrap(), f);
    }
    assert!("x3"
        .parse::<Feature>()
        .unwrap_err()
        .contains("unknown feature 'x3'"));
    assert!("moons".parse::<Dataset>().is_err());
}

#[test]
fn split_and_batches_cover_every_index_once() {
    let (train, test) = train_test_split(501, 0.5, 9).unwrap();
    assert_eq!(train.len() + test.len(), 501);
    assert_eq!(test.len(), 251);
    assert_eq!(
        train_test_split(501, 0.5, 9).unwrap(),
        (train.clone(), test.clone())
    );
    let mut b = Batches::new(23, 5, 1).unwrap();
    assert_eq!(b.len(), 5);
    for _ in 0..3 {
        let mut seen: Vec<usize> = b.epoch().flatten().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..23).collect::<Vec<_>>());
    }
    let t = autodiff::Tensor::<f64>::from_fn(&[4, 2], |i| (i[0] * 10 + i[1]) as f64);
    assert_eq!(rows(&t, &[3, 1]).unwrap().data(), &[30.0, 31.0, 10.0, 11.0]);
    assert!(rows(&t, &[4]).is_err());
}
