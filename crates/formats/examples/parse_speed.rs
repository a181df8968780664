//! Micro benchmark of the COPY readers: generates 200,000 tracking events
//! (the shape of `shared/bench/gen_events.py`) as gzip NDJSON and gzip CSV
//! in memory, then decompresses and parses each on one core, printing
//! rows/s. Run with `cargo run --release -p shale-formats --example
//! parse_speed [rows]`.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use shale_formats::{
    ColumnType, Compression, Format, JsonMapping, Options, RecordReader, TargetColumn, decompress,
};
use std::io::Write;
use std::time::Instant;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const TYPES: [&str; 7] = [
    "page_view",
    "click",
    "search",
    "add_to_cart",
    "purchase",
    "signup",
    "login",
];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
];
const COUNTRIES: [&str; 6] = ["US", "IN", "MX", "DE", "GB", "IT"];
const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];

struct Event {
    fields: Vec<Option<String>>,
    /// Which fields are JSON numbers/objects rather than strings.
    raw: [bool; 12],
}

fn event(r: &mut Rng, i: u64) -> Event {
    let etype = r.pick(&TYPES);
    let sec = 1_704_067_200 + i * 3;
    let ts = chrono::DateTime::from_timestamp(sec as i64, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
        + &format!(".{:03}Z", r.below(1000));
    let user = (r.below(100) >= 35).then(|| format!("u_{:07}", r.below(50_000)));
    let url = format!("https://shop.example.com/products/item-{}", r.below(2000));
    let referrer = (r.below(10) > 2).then(|| "https://www.google.com/".to_string());
    let props = format!(
        r#"{{"title":"Item {}","load_time_ms":{},"viewport":{{"w":1366,"h":657}}}}"#,
        r.below(2000),
        80 + r.below(2000)
    );
    let revenue = (etype == "purchase").then(|| format!("{}.{:02}", r.below(500), r.below(100)));
    Event {
        fields: vec![
            Some(format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                r.next() as u32,
                r.below(65536),
                r.below(4096),
                r.below(4096),
                r.next() & 0xffff_ffff_ffff
            )),
            Some(etype.to_string()),
            Some(ts),
            user,
            Some(format!("{:016x}", r.next())),
            Some(url),
            referrer,
            Some(r.pick(&AGENTS).to_string()),
            Some(r.pick(&COUNTRIES).to_string()),
            Some(r.pick(&DEVICES).to_string()),
            Some(props),
            revenue,
        ],
        raw: [
            false, false, false, false, false, false, false, false, false, false, true, true,
        ],
    }
}

const NAMES: [&str; 12] = [
    "event_id",
    "event_type",
    "ts",
    "user_id",
    "session_id",
    "page_url",
    "referrer",
    "user_agent",
    "country",
    "device",
    "properties",
    "revenue",
];

fn columns() -> Vec<TargetColumn> {
    let t = [
        ColumnType::Char(36),
        ColumnType::Varchar(32),
        ColumnType::Timestamp,
        ColumnType::Varchar(16),
        ColumnType::Char(16),
        ColumnType::Varchar(512),
        ColumnType::Varchar(512),
        ColumnType::Varchar(512),
        ColumnType::Char(2),
        ColumnType::Varchar(16),
        ColumnType::Super,
        ColumnType::Decimal {
            precision: 12,
            scale: 2,
        },
    ];
    let not_null = [
        true, true, true, false, true, true, false, false, false, true, false, false,
    ];
    NAMES
        .iter()
        .zip(t)
        .zip(not_null)
        .map(|((n, ty), nn)| TargetColumn {
            name: n.to_string(),
            ty,
            nullable: !nn,
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn measure(name: &str, gz: &[u8], format: Format, options: Options, rows: usize) {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let reader = RecordReader::new(
            decompress(Compression::Gzip, gz),
            format.clone(),
            options.clone(),
            columns(),
            8192,
        );
        let mut loaded = 0;
        let mut rejected = 0;
        for p in reader {
            let p = p.unwrap();
            loaded += p.batch.num_rows();
            rejected += p.rejected.len();
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(
            loaded + rejected,
            rows,
            "{name}: every row loaded or rejected"
        );
        assert_eq!(rejected, 0, "{name}: no rejected rows");
        best = best.min(secs);
    }
    // Parse-only time, without gunzip, for reference.
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut decompress(Compression::Gzip, gz), &mut raw).unwrap();
    let t = Instant::now();
    let n: usize = RecordReader::new(&raw[..], format, options, columns(), 8192)
        .map(|p| p.unwrap().batch.num_rows())
        .sum();
    let parse_only = t.elapsed().as_secs_f64();
    println!(
        "{name}: {rows} rows, {:.1} MB gzip / {:.1} MB raw: {:.0} rows/s with gunzip (best of 3), {:.0} rows/s parse only ({n} rows)",
        gz.len() as f64 / 1e6,
        raw.len() as f64 / 1e6,
        rows as f64 / best,
        n as f64 / parse_only,
    );
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut r = Rng(0x5eed_1234_abcd_0042);
    let mut json = Vec::new();
    let mut csv = Vec::new();
    csv.extend_from_slice(NAMES.join(",").as_bytes());
    csv.push(b'\n');
    for i in 0..rows {
        let e = event(&mut r, i as u64);
        json.push(b'{');
        for (k, (name, v)) in NAMES.iter().zip(&e.fields).enumerate() {
            if k > 0 {
                json.push(b',');
            }
            json.extend_from_slice(format!("\"{name}\":").as_bytes());
            match v {
                None => json.extend_from_slice(b"null"),
                Some(v) if e.raw[k] => json.extend_from_slice(v.as_bytes()),
                Some(v) => json.extend_from_slice(serde_json::to_string(v).unwrap().as_bytes()),
            }
            if k > 0 {
                csv.push(b',');
            }
            match v {
                None => {}
                Some(v) if v.contains([',', '"', '\n']) => {
                    csv.push(b'"');
                    csv.extend_from_slice(v.replace('"', "\"\"").as_bytes());
                    csv.push(b'"');
                }
                Some(v) => csv.extend_from_slice(v.as_bytes()),
            }
        }
        json.extend_from_slice(b"}\n");
        csv.push(b'\n');
    }
    let auto = Options {
        time_format: Some("auto".into()),
        ..Options::default()
    };
    measure(
        "gzip NDJSON, JSON 'auto'",
        &gzip(&json),
        Format::Json(JsonMapping::Auto { ignore_case: false }),
        auto.clone(),
        rows,
    );
    measure(
        "gzip CSV, IGNOREHEADER 1",
        &gzip(&csv),
        Format::csv(),
        Options {
            ignore_header: 1,
            ..auto
        },
        rows,
    );
}
