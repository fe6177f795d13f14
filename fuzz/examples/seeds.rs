//! Writes the seed inputs of every fuzz target into `fuzz/corpus/<target>/` — small files
//! generated here (never copies of the shared data): TIFF layouts of every kind the reader
//! takes, ImageJ and OME descriptions, CSV tables and the default configuration.
//!
//!     cd fuzz && cargo run --example seeds

use std::path::Path;

use leukotrack_fuzz::tiffgen::{tiff_bytes, Codec, Sample, Spec};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn pages(n: usize, w: u32, h: u32) -> Vec<Vec<f64>> {
    (0..n).map(|k| (0..w * h).map(|i| ((k * 7 + i as usize) % 13) as f64).collect()).collect()
}

const IMAGEJ: &[&str] = &[
    "1.54f\nimages=4\nchannels=2\nslices=2\nhyperstack=true\nmode=composite\nunit=\\u00B5m\nspacing=3.0\nfinterval=30\nloop=false\n",
    "1.54f\nimages=6\nframes=3\nslices=2\nunit=micron\nspacing=2.5\nfinterval=0.5\nfunit=min\n",
    "1.11a\nimages=8\nchannels=2\nslices=2\nframes=2\norder=zct\nunit=nm\nzunit=um\nspacing=-500\n",
    "1.54f\nimages=1\nunit=cm\n",
];

fn ome(attrs: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" UUID=\"urn:uuid:x\"><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" {attrs}><Channel ID=\"Channel:0:0\" SamplesPerPixel=\"1\"/>{inner}</Pixels></Image></OME>"
    )
}

fn ome_seeds() -> Vec<(u8, String)> {
    let a = "DimensionOrder=\"XYZCT\" Type=\"uint16\" SizeX=\"4\" SizeY=\"3\" SizeZ=\"2\" SizeC=\"1\" SizeT=\"2\" PhysicalSizeX=\"0.5\" PhysicalSizeY=\"0.5\" PhysicalSizeZ=\"3\" PhysicalSizeZUnit=\"µm\" TimeIncrement=\"30\" TimeIncrementUnit=\"s\"";
    let b = "DimensionOrder=\"XYCTZ\" Type=\"uint16\" SizeX=\"4\" SizeY=\"3\" SizeZ=\"2\" SizeC=\"2\" SizeT=\"2\" PhysicalSizeX=\"800\" PhysicalSizeXUnit=\"nm\"";
    let mut planes = String::from("<TiffData IFD=\"0\" PlaneCount=\"4\"/>");
    for t in 0..2 {
        for z in 0..2 {
            planes += &format!(
                "<Plane TheZ=\"{z}\" TheT=\"{t}\" TheC=\"0\" DeltaT=\"{}\" DeltaTUnit=\"ms\"/>",
                t * 31_000
            );
        }
    }
    vec![
        (3, ome(a, "<TiffData IFD=\"0\" PlaneCount=\"4\"/>")),
        (3, ome(a, &planes)),
        (7, ome(b, "<TiffData FirstC=\"0\" FirstT=\"0\" FirstZ=\"0\" IFD=\"0\" PlaneCount=\"8\"/>")),
        (7, ome(b, "<TiffData IFD=\"0\" PlaneCount=\"4\"><UUID FileName=\"input.ome.tif\">urn:uuid:x</UUID></TiffData><TiffData FirstT=\"1\" IFD=\"4\" PlaneCount=\"4\"/>")),
        (8 | 1, ome(&a.replace("SizeT=\"2\"", "SizeT=\"1\""), "")),
    ]
}

fn main() {
    // Raw TIFFs: every codec, byte order, chunking and sample type, plain and with metadata.
    let mut k = 0;
    let mut tiff = |spec: Spec, n: usize| {
        put(
            "tiff",
            &format!("seed{k:02}.tif"),
            &tiff_bytes(&spec, &pages(n, spec.width, spec.height)),
        );
        k += 1;
    };
    for codec in [Codec::None, Codec::Deflate, Codec::Lzw, Codec::PackBits] {
        for (big_endian, bigtiff) in [(false, false), (true, false), (false, true)] {
            tiff(
                Spec {
                    codec,
                    big_endian,
                    bigtiff,
                    width: 5,
                    height: 4,
                    rows_per_strip: 2,
                    ..Spec::default()
                },
                2,
            );
        }
        tiff(Spec { codec, tile: Some((16, 16)), width: 20, height: 5, ..Spec::default() }, 2);
        tiff(
            Spec {
                codec,
                predictor: true,
                sample: Sample::U8,
                width: 5,
                height: 3,
                ..Spec::default()
            },
            1,
        );
    }
    tiff(Spec { sample: Sample::F32, width: 4, height: 3, ..Spec::default() }, 2);
    tiff(Spec { sample: Sample::I16, width: 4, height: 3, ..Spec::default() }, 2);
    let desc = format!("ImageJ={}", IMAGEJ[0]);
    tiff(Spec { description: Some(desc), width: 4, height: 3, ..Spec::default() }, 4);
    let (n, xml) = ome_seeds().remove(0);
    tiff(Spec { description: Some(xml), width: 4, height: 3, ..Spec::default() }, 1 + n as usize);
    tiff(Spec { software: Some("SI.LINE_FORMAT_VERSION = 1\nSI.hChannels.channelSave = 1\nSI.hStackManager.numSlices = 2\n".into()), width: 4, height: 3, ..Spec::default() }, 4);
    tiff(Spec { bigtiff: true, scanimage_header: Some("SI.hChannels.channelSave = [1;2]\nSI.hStackManager.numSlices = 1\nSI.hFastZ.enable = false\n".into()), width: 4, height: 3, ..Spec::default() }, 4);

    // ImageJ descriptions (first byte: pages - 1, sample type, codec, byte order).
    for (i, d) in IMAGEJ.iter().enumerate() {
        let pages =
            d.lines().find_map(|l| l.strip_prefix("images=")).unwrap().parse::<u8>().unwrap();
        let mut b = vec![(pages - 1) | if i == 2 { 8 | 16 | 32 } else { 0 }];
        b.extend_from_slice(d.as_bytes());
        put("imagej", &format!("seed{i}"), &b);
    }
    for (i, (head, xml)) in ome_seeds().into_iter().enumerate() {
        let mut b = vec![head];
        b.extend_from_slice(xml.as_bytes());
        put("ome", &format!("seed{i}"), &b);
    }

    put("csv_detections", "seed0", b"frame,x_um,y_um,z_um,volume_um3,quality\n0,1.5,2.25,3,100,0.9\n0,10,20,6,80,0.5\n1,1.75,2.5,3,101,0.8\n");
    put("csv_detections", "seed1", b"frame,x_um,y_um\n0,1,2\n2,3,4\n");
    put("csv_detections", "seed2", b"x_um,frame,y_um,label\n1e-3,0,NaN,a\n\"2\",1,-0,\"b,c\"\n");
    put("csv_tracks", "seed0", b"track_id,frame,t_s,x_um,y_um,z_um,detection\n1,0,0,1,2,3,0\n1,1,30,2,2,3,1\n2,0,0,9,9,9,2\n2,2,60,9,8,9,3\n");
    put("csv_tracks", "seed1", b"track_id,t_s,x_um,y_um\nA,0,1,1\nA,15,2,1\nB,0,3,3\nB,15,4,4\n");
    // TrackMate XML written by the crate's own exporter; an Imaris Position export.
    let tracks_csv = b"track_id,frame,t_s,x_um,y_um,z_um\n1,0,0,1,2,3\n1,1,30,2,2,3\n1,3,90,3,2.5,6\n2,0,0,9,9,9\n2,1,30,9,8,9\n";
    let tracks =
        leukotrack::Tracks::from_reader(&tracks_csv[..], Path::new("t.csv"), Some(30.0)).unwrap();
    let image = leukotrack::export::ImageInfo {
        filename: "rec.tif".into(),
        folder: String::new(),
        width: 64,
        height: 64,
        nslices: 8,
        nframes: 4,
    };
    let cal =
        leukotrack::Calibration::new(leukotrack::VoxelSize::new(0.8, 0.8, 3.0).unwrap(), 30.0);
    let xml = std::env::temp_dir().join(format!("leukotrack-seed-{}.xml", std::process::id()));
    leukotrack::export::trackmate::write(
        &xml,
        &tracks,
        &leukotrack::Detections::new(true),
        &cal,
        &image,
    )
    .unwrap();
    put("trackmate", "seed0.xml", &std::fs::read(&xml).unwrap());
    std::fs::remove_file(&xml).ok();
    put("imaris", "seed0.csv", b"Position\n==================== \nPosition X,Position Y,Position Z,Unit,Category,Collection,Time,TrackID,ID,\n1.5,2,3,um,Spot,Position,1,1000000000,0,\n2.5,2,3,um,Spot,Position,2,1000000000,1,\n9,9,9,um,Spot,Position,1,1000000001,2,\n9,8,9,um,Spot,Position,2,1000000001,3,\n4,4,4,um,Spot,Position,1,,4,\n");
    put("imaris", "seed1.csv", b"Position X;Position Y;Time;TrackID;ID\n1;2;1;7;0\n2;2;2;7;1\n");
    put("config_toml", "default.toml", leukotrack::pipeline::Config::default_toml().as_bytes());
    put("config_toml", "small.toml", b"channel = 1\n[read]\n[segment]\ncell_diameter_um = 8.0\n[segment.detector]\nkind = \"blob\"\nfilter = \"dog\"\n[drift]\nmethod = \"none\"\n[link]\ngap_frames = 2\n[link.gate]\nkind = \"max_speed\"\num_per_min = 20.0\n[metrics]\ntwo_d = true\n");
}
