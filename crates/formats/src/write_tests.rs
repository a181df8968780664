//! UNLOAD writer tests: Redshift's documented UNLOAD outputs, one test per
//! rule, and round trips through COPY's reader for every column type.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::{Format, JsonMapping, Options, RecordReader, TargetColumn, decompress};
use arrow::array::{
    BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{Field, Schema};

fn batch(cols: &[(String, ColumnType)], arrays: Vec<ArrayRef>) -> RecordBatch {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, t)| Field::new(n, t.arrow_type(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn cols(spec: &[(&str, ColumnType)]) -> Vec<(String, ColumnType)> {
    spec.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn write_typed(
    format: OutFormat,
    options: WriteOptions,
    columns: Vec<(String, ColumnType)>,
    b: &RecordBatch,
) -> String {
    let mut w = RecordWriter::new(format, options, columns).unwrap();
    let mut out = Vec::new();
    w.write_header(&mut out);
    w.write_batch(b, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The docs' VENUE rows (venueid, venuename, venuecity, venuestate,
/// venueseats).
fn venue() -> RecordBatch {
    let c = cols(&[
        ("venueid", ColumnType::SmallInt),
        ("venuename", ColumnType::Varchar(100)),
        ("venuecity", ColumnType::Varchar(30)),
        ("venuestate", ColumnType::Char(2)),
        ("venueseats", ColumnType::Integer),
    ]);
    batch(
        &c,
        vec![
            Arc::new(Int16Array::from(vec![20, 60, 100, 200])),
            strs(&[
                Some("Air Canada Centre"),
                Some("Rexall Place"),
                Some("U.S. Cellular Field"),
                Some("Al Hirschfeld Theatre"),
            ]),
            strs(&[
                Some("Toronto"),
                Some("Edmonton"),
                Some("Chicago"),
                Some("New York City"),
            ]),
            strs(&[Some("ON"), Some("AB"), Some("IL"), Some("NY")]),
            Arc::new(Int32Array::from(vec![Some(0), Some(0), Some(40615), None])),
        ],
    )
}

fn venue_cols() -> Vec<(String, ColumnType)> {
    cols(&[
        ("venueid", ColumnType::SmallInt),
        ("venuename", ColumnType::Varchar(100)),
        ("venuecity", ColumnType::Varchar(30)),
        ("venuestate", ColumnType::Char(2)),
        ("venueseats", ColumnType::Integer),
    ])
}

#[test]
fn venue_default_pipe_and_comma() {
    let b = venue();
    assert_eq!(
        write_typed(
            OutFormat::default(),
            WriteOptions::default(),
            venue_cols(),
            &b
        ),
        "20|Air Canada Centre|Toronto|ON|0\n\
         60|Rexall Place|Edmonton|AB|0\n\
         100|U.S. Cellular Field|Chicago|IL|40615\n\
         200|Al Hirschfeld Theatre|New York City|NY|\n"
    );
    assert_eq!(
        write_typed(
            OutFormat::Delimited { delimiter: b',' },
            WriteOptions::default(),
            venue_cols(),
            &b
        )
        .lines()
        .next()
        .unwrap(),
        "20,Air Canada Centre,Toronto,ON,0"
    );
}

#[test]
fn csv_quotes_only_when_needed() {
    let c = cols(&[
        ("id", ColumnType::Integer),
        ("location", ColumnType::Varchar(40)),
    ]);
    let b = batch(
        &c,
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5])),
            strs(&[
                Some("Phoenix, AZ"),
                Some("say \"hi\""),
                Some("two\nlines"),
                Some("plain"),
                None,
            ]),
        ],
    );
    assert_eq!(
        write_typed(
            OutFormat::Csv { delimiter: b',' },
            WriteOptions::default(),
            c.clone(),
            &b
        ),
        "1,\"Phoenix, AZ\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,plain\n5,\n"
    );
    // CSV DELIMITER '|' quotes fields holding '|', not ','.
    let b2 = batch(
        &c,
        vec![
            Arc::new(Int32Array::from(vec![1, 2])),
            strs(&[Some("a|b"), Some("c,d")]),
        ],
    );
    assert_eq!(
        write_typed(
            OutFormat::Csv { delimiter: b'|' },
            WriteOptions::default(),
            c,
            &b2
        ),
        "1|\"a|b\"\n2|c,d\n"
    );
}

#[test]
fn addquotes_escape_and_null_as() {
    let c = cols(&[
        ("id", ColumnType::Integer),
        ("location", ColumnType::Varchar(40)),
    ]);
    let b = batch(
        &c,
        vec![
            Arc::new(Int32Array::from(vec![Some(1), Some(2), None])),
            strs(&[Some("Phoenix, AZ"), Some("a\\b|c\n\"'"), None]),
        ],
    );
    let o = WriteOptions {
        add_quotes: true,
        ..Default::default()
    };
    assert_eq!(
        write_typed(OutFormat::Delimited { delimiter: b',' }, o, c.clone(), &b)
            .lines()
            .next()
            .unwrap(),
        "\"1\",\"Phoenix, AZ\""
    );
    let o = WriteOptions {
        escape: true,
        null_as: Some("\\N".into()),
        ..Default::default()
    };
    assert_eq!(
        write_typed(OutFormat::default(), o, c.clone(), &b),
        "1|Phoenix, AZ\n2|a\\\\b\\|c\\\n\"'\n\\N|\\N\n"
    );
    let o = WriteOptions {
        escape: true,
        add_quotes: true,
        null_as: Some("fred".into()),
        ..Default::default()
    };
    assert_eq!(
        write_typed(OutFormat::default(), o, c, &b),
        "\"1\"|\"Phoenix, AZ\"\n\"2\"|\"a\\\\b\\|c\\\n\\\"\\'\"\nfred|fred\n"
    );
}

#[test]
fn header_uses_the_same_rules() {
    let c = cols(&[("a|b", ColumnType::Integer), ("c", ColumnType::Integer)]);
    let b = batch(
        &c,
        vec![
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Int32Array::from(vec![2])),
        ],
    );
    let h = WriteOptions {
        header: true,
        ..Default::default()
    };
    assert_eq!(
        write_typed(OutFormat::Csv { delimiter: b'|' }, h.clone(), c.clone(), &b),
        "\"a|b\"|c\n1|2\n"
    );
    let qh = WriteOptions {
        header: true,
        add_quotes: true,
        escape: true,
        ..Default::default()
    };
    assert_eq!(
        write_typed(OutFormat::default(), qh, c.clone(), &b),
        "\"a\\|b\"|\"c\"\n\"1\"|\"2\"\n"
    );
    let w = RecordWriter::new(OutFormat::default(), WriteOptions::default(), c).unwrap();
    let mut out = Vec::new();
    w.write_header(&mut out);
    assert!(out.is_empty());
}

#[test]
fn fixedwidth_venue_and_nulls() {
    let b = venue();
    let spec: Vec<(String, usize)> = [("0", 3), ("1", 25), ("2", 14), ("3", 2), ("4", 6)]
        .iter()
        .map(|(l, w)| (l.to_string(), *w))
        .collect();
    let out = write_typed(
        OutFormat::FixedWidth(spec.clone()),
        WriteOptions::default(),
        venue_cols(),
        &b,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "20 Air Canada Centre        Toronto       ON0     "
    );
    assert_eq!(
        lines[2],
        "100U.S. Cellular Field      Chicago       IL40615 "
    );
    // NULL: spaces.
    assert_eq!(
        lines[3],
        "200Al Hirschfeld Theatre    New York City NY      "
    );
    // NULL AS: padded; wider than a non-character column: an empty field.
    let o = WriteOptions {
        null_as: Some("nullvalue".into()),
        ..Default::default()
    };
    let out = write_typed(OutFormat::FixedWidth(spec.clone()), o, venue_cols(), &b);
    assert!(out.ends_with("NY      \n"), "{out}");
    let o = WriteOptions {
        null_as: Some("-".into()),
        ..Default::default()
    };
    let out = write_typed(OutFormat::FixedWidth(spec.clone()), o, venue_cols(), &b);
    assert!(out.ends_with("NY-     \n"), "{out}");
    // Data is never truncated.
    let mut narrow = spec.clone();
    narrow[1].1 = 10;
    let mut w = RecordWriter::new(
        OutFormat::FixedWidth(narrow),
        WriteOptions::default(),
        venue_cols(),
    )
    .unwrap();
    let mut buf = Vec::new();
    let e = w.write_batch(&b, &mut buf).unwrap_err();
    assert!(e.to_string().contains("venuename"), "{e}");
    assert!(buf.is_empty());
    // A NULL AS wider than a character column is an error.
    let c = cols(&[("s", ColumnType::Varchar(5))]);
    let nb = batch(&c, vec![strs(&[None])]);
    let mut w = RecordWriter::new(
        OutFormat::FixedWidth(vec![("s".into(), 2)]),
        WriteOptions {
            null_as: Some("NULL".into()),
            ..Default::default()
        },
        c,
    )
    .unwrap();
    assert!(w.write_batch(&nb, &mut Vec::new()).is_err());
    // Widths count characters, not bytes.
    let c = cols(&[("s", ColumnType::Varchar(20))]);
    let mb = batch(&c, vec![strs(&[Some("été")])]);
    assert_eq!(
        write_typed(
            OutFormat::FixedWidth(vec![("s".into(), 4)]),
            WriteOptions::default(),
            c,
            &mb
        ),
        "été \n"
    );
}

#[test]
fn json_lines() {
    let b = venue();
    let out = write_typed(OutFormat::Json, WriteOptions::default(), venue_cols(), &b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"venueid":20,"venuename":"Air Canada Centre","venuecity":"Toronto","venuestate":"ON","venueseats":0}"#
    );
    assert_eq!(
        lines[3],
        r#"{"venueid":200,"venuename":"Al Hirschfeld Theatre","venuecity":"New York City","venuestate":"NY","venueseats":null}"#
    );
    let c = cols(&[
        ("b", ColumnType::Boolean),
        ("s", ColumnType::Super),
        ("v", ColumnType::Varchar(20)),
        ("f", ColumnType::Double),
        (
            "d",
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
            },
        ),
        ("ts", ColumnType::Timestamp),
    ]);
    let sb = batch(
        &c,
        vec![
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            strs(&[Some(r#"{"a":[1,"x"]}"#), Some("\"str\""), None]),
            strs(&[Some("q\"\\\n\t\u{1}"), Some(""), None]),
            Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(1250), Some(-1), None])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_500_000),
                Some(0),
                None,
            ])),
        ],
    );
    let out = write_typed(OutFormat::Json, WriteOptions::default(), c, &sb);
    assert_eq!(
        out,
        concat!(
            r#"{"b":"t","s":{"a":[1,"x"]},"v":"q\"\\\n\t\u0001","f":1.5,"d":12.50,"ts":"1970-01-01 00:00:01.5"}"#,
            "\n",
            r#"{"b":"f","s":"str","v":"","f":"NaN","d":-0.01,"ts":"1970-01-01 00:00:00"}"#,
            "\n",
            r#"{"b":null,"s":null,"v":null,"f":null,"d":null,"ts":null}"#,
            "\n"
        )
    );
    for line in out.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn refused_combinations() {
    let two = cols(&[("a", ColumnType::Integer), ("a", ColumnType::Integer)]);
    let one = cols(&[("a", ColumnType::Integer)]);
    let err = |f: OutFormat, o: WriteOptions, c: &Vec<(String, ColumnType)>| {
        RecordWriter::new(f, o, c.clone()).unwrap_err().to_string()
    };
    assert!(err(OutFormat::Json, WriteOptions::default(), &two).contains("unique"));
    let vb = cols(&[("a", ColumnType::Varbyte(4))]);
    assert!(err(OutFormat::Json, WriteOptions::default(), &vb).contains("VARBYTE"));
    for o in [
        WriteOptions {
            header: true,
            ..Default::default()
        },
        WriteOptions {
            null_as: Some("x".into()),
            ..Default::default()
        },
        WriteOptions {
            add_quotes: true,
            ..Default::default()
        },
        WriteOptions {
            escape: true,
            ..Default::default()
        },
    ] {
        assert!(err(OutFormat::Json, o, &one).starts_with("JSON is not compatible"));
    }
    let q = WriteOptions {
        add_quotes: true,
        ..Default::default()
    };
    assert_eq!(
        err(OutFormat::Csv { delimiter: b',' }, q, &one),
        "CSV is not compatible with ADDQUOTES"
    );
    let h = WriteOptions {
        header: true,
        ..Default::default()
    };
    let fw = OutFormat::FixedWidth(vec![("a".into(), 3)]);
    assert_eq!(err(fw, h, &one), "FIXEDWIDTH is not compatible with HEADER");
    let fw2 = OutFormat::FixedWidth(vec![("a".into(), 3), ("b".into(), 3)]);
    assert!(err(fw2, WriteOptions::default(), &one).contains("2 field(s)"));
    assert!(
        err(
            OutFormat::Delimited { delimiter: b'\n' },
            WriteOptions::default(),
            &one
        )
        .contains("newline")
    );
    // A batch that does not match the declared types.
    let mut w = RecordWriter::new(OutFormat::default(), WriteOptions::default(), one).unwrap();
    let bad = batch(
        &cols(&[("a", ColumnType::Date)]),
        vec![Arc::new(Date32Array::from(vec![1]))],
    );
    // Date32 casts to Int32: written as its day number.
    let mut out = Vec::new();
    w.write_batch(&bad, &mut out).unwrap();
    assert_eq!(out, b"1\n");
    let bin = batch(
        &cols(&[("a", ColumnType::Varbyte(3))]),
        vec![Arc::new(BinaryArray::from(vec![&b"x"[..]]))],
    );
    assert!(w.write_batch(&bin, &mut Vec::new()).is_err());
}

fn render_one(ty: ColumnType, a: ArrayRef) -> String {
    let c = cols(&[("x", ty)]);
    let b = batch(&c, vec![a]);
    write_typed(OutFormat::default(), WriteOptions::default(), c, &b)
}

#[test]
fn value_renderings() {
    let dec = |v: Vec<Option<i128>>, p: u8, s: i8| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(p, s)
                .unwrap(),
        )
    };
    assert_eq!(
        render_one(
            ColumnType::Decimal {
                precision: 8,
                scale: 2
            },
            dec(vec![Some(100), Some(-5), Some(0), None], 8, 2)
        ),
        "1.00\n-0.05\n0.00\n\n"
    );
    assert_eq!(
        render_one(
            ColumnType::Decimal {
                precision: 38,
                scale: 0
            },
            dec(vec![Some(-(10i128.pow(38) - 1))], 38, 0)
        ),
        format!("-{}\n", "9".repeat(38))
    );
    assert_eq!(
        render_one(
            ColumnType::Boolean,
            Arc::new(BooleanArray::from(vec![true, false]))
        ),
        "t\nf\n"
    );
    assert_eq!(
        render_one(
            ColumnType::Double,
            Arc::new(Float64Array::from(vec![
                0.1 + 0.2,
                1e20,
                1e15,
                123456.0,
                0.0001,
                0.00001,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                -2.5,
                f64::MAX,
                5e-324,
            ]))
        ),
        "0.30000000000000004\n1e+20\n1e+15\n123456\n0.0001\n1e-05\nInfinity\n-Infinity\nNaN\n-2.5\n1.7976931348623157e+308\n5e-324\n"
    );
    assert_eq!(
        render_one(
            ColumnType::Real,
            Arc::new(Float32Array::from(vec![
                1.1f32,
                3.4028235e38,
                1e-7,
                123456.7
            ]))
        ),
        "1.1\n3.4028235e+38\n1e-07\n123456.7\n"
    );
    assert_eq!(
        render_one(
            ColumnType::Char(4),
            strs(&[Some("ab"), Some(""), None, Some("abcd")])
        ),
        "ab  \n    \n\nabcd\n"
    );
    assert_eq!(
        render_one(
            ColumnType::Date,
            Arc::new(Date32Array::from(vec![0, 19723, -719162]))
        ),
        "1970-01-01\n2024-01-01\n0001-01-01\n"
    );
    let ts = Arc::new(TimestampMicrosecondArray::from(vec![
        1_704_164_645_000_000,
        1_704_164_645_120_000,
        1_704_164_645_000_001,
    ]));
    assert_eq!(
        render_one(ColumnType::Timestamp, Arc::clone(&ts) as ArrayRef),
        "2024-01-02 03:04:05\n2024-01-02 03:04:05.12\n2024-01-02 03:04:05.000001\n"
    );
    let tstz: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![1_704_164_645_000_000]).with_timezone("+00:00"),
    );
    assert_eq!(
        render_one(ColumnType::TimestampTz, tstz),
        "2024-01-02 03:04:05+00\n"
    );
    let t = Arc::new(Time64MicrosecondArray::from(vec![3_723_000_001, 0]));
    assert_eq!(
        render_one(ColumnType::Time, Arc::clone(&t) as ArrayRef),
        "01:02:03.000001\n00:00:00\n"
    );
    assert_eq!(
        render_one(ColumnType::TimeTz, t),
        "01:02:03.000001+00\n00:00:00+00\n"
    );
    assert_eq!(
        render_one(
            ColumnType::Varbyte(8),
            Arc::new(BinaryArray::from(vec![&b"abc"[..], &[0u8, 255][..]]))
        ),
        "616263\n00ff\n"
    );
    // SUPER ignores NULL AS.
    let c = cols(&[("s", ColumnType::Super), ("v", ColumnType::Varchar(3))]);
    let b = batch(&c, vec![strs(&[None, Some("[1]")]), strs(&[None, None])]);
    let o = WriteOptions {
        null_as: Some("NULL".into()),
        ..Default::default()
    };
    assert_eq!(
        write_typed(OutFormat::default(), o, c, &b),
        "|NULL\n[1]|NULL\n"
    );
}

// ---------------------------------------------------------------------
// Round trips through COPY's reader.

/// Every column type, with NULLs, empty strings and awkward text.
fn all_types(text_safe_only: bool, with_varbyte: bool) -> (Vec<(String, ColumnType)>, RecordBatch) {
    let mut c = cols(&[
        ("si", ColumnType::SmallInt),
        ("i", ColumnType::Integer),
        ("bi", ColumnType::BigInt),
        (
            "d38",
            ColumnType::Decimal {
                precision: 38,
                scale: 10,
            },
        ),
        (
            "d0",
            ColumnType::Decimal {
                precision: 38,
                scale: 0,
            },
        ),
        ("r", ColumnType::Real),
        ("f", ColumnType::Double),
        ("b", ColumnType::Boolean),
        ("c", ColumnType::Char(6)),
        ("v", ColumnType::Varchar(60)),
        ("dt", ColumnType::Date),
        ("t", ColumnType::Time),
        ("tt", ColumnType::TimeTz),
        ("ts", ColumnType::Timestamp),
        ("tz", ColumnType::TimestampTz),
        ("s", ColumnType::Super),
    ]);
    let n = 8;
    let big = 10i128.pow(38) - 1;
    let dec = |v: Vec<Option<i128>>, s: i8| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(38, s)
                .unwrap(),
        )
    };
    let varchars: Vec<Option<&str>> = if text_safe_only {
        vec![
            Some("héllo ☃ 日本"),
            Some(""),
            None,
            Some("  leading"),
            Some("q\"uo'te"),
            Some("back\\slash"),
            Some("a;b,c"),
            Some("x"),
        ]
    } else {
        vec![
            Some("héllo ☃ 日本"),
            Some(""),
            None,
            Some("new\nline\r\nend\r"),
            Some("q\"uo'te\"\""),
            Some("back\\slash\\"),
            Some("a|b,c\t"),
            Some("\\"),
        ]
    };
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(Int16Array::from(vec![
            Some(i16::MIN),
            Some(i16::MAX),
            None,
            Some(0),
            Some(-1),
            Some(1),
            Some(42),
            Some(7),
        ])),
        Arc::new(Int32Array::from(vec![
            Some(i32::MIN),
            Some(i32::MAX),
            None,
            Some(0),
            Some(-1),
            Some(1),
            Some(42),
            Some(7),
        ])),
        Arc::new(Int64Array::from(vec![
            Some(i64::MIN),
            Some(i64::MAX),
            None,
            Some(0),
            Some(-1),
            Some(1),
            Some(42),
            Some(7),
        ])),
        dec(
            vec![
                Some(big),
                Some(-big),
                None,
                Some(0),
                Some(1),
                Some(-1),
                Some(12_345_678_901),
                Some(10_000_000_000),
            ],
            10,
        ),
        dec(
            vec![
                Some(big),
                Some(-big),
                None,
                Some(0),
                Some(1),
                Some(-1),
                Some(123),
                Some(10),
            ],
            0,
        ),
        Arc::new(Float32Array::from(vec![
            Some(1.1f32),
            Some(-3.4028235e38),
            None,
            Some(0.0),
            Some(1e-7),
            Some(f32::INFINITY),
            Some(123456.7),
            Some(f32::MIN_POSITIVE),
        ])),
        Arc::new(Float64Array::from(vec![
            Some(0.1 + 0.2),
            Some(f64::MAX),
            None,
            Some(0.0),
            Some(5e-324),
            Some(f64::NEG_INFINITY),
            Some(1.0 / 3.0),
            Some(123_456_789_012_345_680.0),
        ])),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
            Some(false),
            Some(true),
            Some(false),
            Some(true),
        ])),
        strs(&[
            Some("ab"),
            Some(""),
            None,
            Some("abcdef"),
            Some("a b"),
            Some(if text_safe_only { "#" } else { "|" }),
            Some("x"),
            Some(" y"),
        ]),
        strs(&varchars),
        Arc::new(Date32Array::from(vec![
            Some(0),
            Some(19723),
            None,
            Some(-719162),
            Some(2_932_896),
            Some(-1),
            Some(11016),
            Some(1),
        ])),
        Arc::new(Time64MicrosecondArray::from(vec![
            Some(0),
            Some(86_399_999_999),
            None,
            Some(3_723_000_001),
            Some(43_200_000_000),
            Some(1),
            Some(500_000),
            Some(60_000_000),
        ])),
        Arc::new(Time64MicrosecondArray::from(vec![
            Some(0),
            Some(86_399_999_999),
            None,
            Some(3_723_000_001),
            Some(43_200_000_000),
            Some(1),
            Some(500_000),
            Some(60_000_000),
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(1_704_164_645_120_000),
            None,
            Some(1_704_164_645_000_001),
            Some(-62_135_596_800_000_000),
            Some(253_402_300_799_999_999),
            Some(-1),
            Some(951_782_400_000_000),
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(0),
                Some(1_704_164_645_120_000),
                None,
                Some(1_704_164_645_000_001),
                Some(-62_135_596_800_000_000),
                Some(253_402_300_799_999_999),
                Some(-1),
                Some(951_782_400_000_000),
            ])
            .with_timezone("+00:00"),
        ),
        strs(&[
            Some(if text_safe_only {
                r#"{"a":[1,2.5,"x/y"],"b":{"c":null}}"#
            } else {
                r#"{"a":[1,2.5,"x|y"],"b":{"c":null}}"#
            }),
            Some(r#""str""#),
            None,
            Some("12"),
            Some(r#"[true,false]"#),
            Some(r#"{"q":"say \"hi\" \\ \n"}"#),
            // (JSON `null` would reload from a JSON file as NULL.)
            Some("{}"),
            Some(r#"{"k":"é,☃"}"#),
        ]),
    ];
    if with_varbyte {
        c.push(("vb".into(), ColumnType::Varbyte(10)));
        arrays.push(Arc::new(BinaryArray::from(vec![
            Some(&b"abc"[..]),
            Some(&[0u8, 255, 16][..]),
            None,
            Some(&b"|\n\\"[..]),
            Some(&[0u8][..]),
            Some(&b"0123456789"[..]),
            Some(&b"\""[..]),
            Some(&[0xffu8; 4][..]),
        ])));
    }
    assert!(arrays.iter().all(|a| a.len() == n));
    let b = batch(&c, arrays);
    (c, b)
}

fn read_back(
    bytes: &[u8],
    format: Format,
    options: Options,
    columns: &[(String, ColumnType)],
) -> RecordBatch {
    let targets: Vec<TargetColumn> = columns
        .iter()
        .map(|(n, t)| TargetColumn::new(n.clone(), *t))
        .collect();
    crate::validate(&format, &options, &targets).unwrap();
    let reader = RecordReader::new(bytes, format, options, targets, 3);
    let mut batches = Vec::new();
    for parsed in reader {
        let parsed = parsed.unwrap();
        assert!(
            parsed.rejected.is_empty(),
            "rejected: {:#?}\n--- file ---\n{}",
            parsed.rejected,
            String::from_utf8_lossy(bytes)
        );
        batches.push(parsed.batch);
    }
    let schema = batches[0].schema();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

fn assert_same(original: &RecordBatch, back: &RecordBatch, file: &[u8]) {
    assert_eq!(original.num_rows(), back.num_rows());
    for (i, f) in original.schema().fields().iter().enumerate() {
        assert_eq!(
            original.column(i).as_ref(),
            back.column(i).as_ref(),
            "column {} differs\n--- file ---\n{}",
            f.name(),
            String::from_utf8_lossy(file)
        );
    }
}

fn round_trip(
    format: OutFormat,
    w: WriteOptions,
    copy_format: Format,
    copy: Options,
    columns: &[(String, ColumnType)],
    b: &RecordBatch,
) {
    let mut writer = RecordWriter::new(format, w, columns.to_vec()).unwrap();
    let mut out = Vec::new();
    writer.write_header(&mut out);
    // Two calls: batches append.
    writer.write_batch(&b.slice(0, 3), &mut out).unwrap();
    writer
        .write_batch(&b.slice(3, b.num_rows() - 3), &mut out)
        .unwrap();
    let back = read_back(&out, copy_format, copy, columns);
    assert_same(b, &back, &out);
}

fn null_n() -> Option<String> {
    Some("\\N".into())
}

#[test]
fn round_trip_delimited_escape() {
    let (c, b) = all_types(false, true);
    for header in [false, true] {
        round_trip(
            OutFormat::default(),
            WriteOptions {
                null_as: null_n(),
                escape: true,
                header,
                ..Default::default()
            },
            Format::default(),
            Options {
                escape: true,
                ignore_header: u64::from(header),
                ..Default::default()
            },
            &c,
            &b,
        );
    }
    // Another delimiter.
    round_trip(
        OutFormat::Delimited { delimiter: b'\t' },
        WriteOptions {
            null_as: null_n(),
            escape: true,
            ..Default::default()
        },
        Format::Delimited { delimiter: b'\t' },
        Options {
            escape: true,
            ..Default::default()
        },
        &c,
        &b,
    );
}

#[test]
fn round_trip_addquotes_escape() {
    let (c, b) = all_types(false, true);
    round_trip(
        OutFormat::Delimited { delimiter: b',' },
        WriteOptions {
            null_as: null_n(),
            escape: true,
            add_quotes: true,
            header: true,
        },
        Format::Delimited { delimiter: b',' },
        Options {
            escape: true,
            remove_quotes: true,
            ignore_header: 1,
            ..Default::default()
        },
        &c,
        &b,
    );
}

#[test]
fn round_trip_csv() {
    let (c, b) = all_types(false, true);
    for (d, null) in [(b',', "\\N"), (b'|', "NULL")] {
        round_trip(
            OutFormat::Csv { delimiter: d },
            WriteOptions {
                null_as: Some(null.into()),
                header: true,
                ..Default::default()
            },
            Format::Csv {
                delimiter: d,
                quote: b'"',
            },
            Options {
                null_as: Some(null.into()),
                ignore_header: 1,
                ..Default::default()
            },
            &c,
            &b,
        );
    }
}

#[test]
fn round_trip_json() {
    let (c, b) = all_types(false, false);
    round_trip(
        OutFormat::Json,
        WriteOptions::default(),
        Format::Json(JsonMapping::Auto { ignore_case: false }),
        Options::default(),
        &c,
        &b,
    );
}

#[test]
fn round_trip_fixedwidth() {
    let (c, b) = all_types(true, true);
    let spec: Vec<(String, usize)> = c.iter().map(|(n, _)| (n.clone(), 48)).collect();
    round_trip(
        OutFormat::FixedWidth(spec.clone()),
        WriteOptions {
            null_as: null_n(),
            ..Default::default()
        },
        Format::FixedWidth(spec),
        Options {
            trim_blanks: true,
            ..Default::default()
        },
        &c,
        &b,
    );
}

/// Default text (NULL as a zero-length field) loses the difference between
/// NULL and '' for character columns, as in Redshift; everything else comes
/// back, and non-character NULLs stay NULL.
#[test]
fn default_text_turns_null_strings_into_empty() {
    let (c, b) = all_types(true, false);
    let mut writer =
        RecordWriter::new(OutFormat::default(), WriteOptions::default(), c.clone()).unwrap();
    let mut out = Vec::new();
    writer.write_batch(&b, &mut out).unwrap();
    let back = read_back(&out, Format::default(), Options::default(), &c);
    for (i, (name, ty)) in c.iter().enumerate() {
        if matches!(ty, ColumnType::Char(_) | ColumnType::Varchar(_)) {
            let a = back.column(i).as_string::<i32>();
            assert!(!a.is_null(2), "{name}");
            assert_eq!(a.value(2), "", "{name}");
        } else {
            assert_eq!(b.column(i).as_ref(), back.column(i).as_ref(), "{name}");
        }
    }
    // With EMPTYASNULL the empty strings become NULL instead.
    let back = read_back(
        &out,
        Format::default(),
        Options {
            empty_as_null: true,
            ..Default::default()
        },
        &c,
    );
    let v = c.iter().position(|(n, _)| n == "v").unwrap();
    assert!(back.column(v).is_null(1) && back.column(v).is_null(2));
}

#[test]
fn compress_round_trip() {
    let text: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("{i}|row {i}|{}\n", i * 7).into_bytes())
        .collect();
    for c in [
        Compression::None,
        Compression::Gzip,
        Compression::Bzip2,
        Compression::Zstd,
    ] {
        let mut file = Vec::new();
        {
            let mut w = compress(c, &mut file);
            // In pieces, as a writer of many batches would.
            for chunk in text.chunks(4096) {
                w.write_all(chunk).unwrap();
            }
            w.finish().unwrap();
        }
        if c != Compression::None {
            assert!(file.len() < text.len() / 2, "{c:?}");
        }
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut decompress(c, &file[..]), &mut back).unwrap();
        assert_eq!(back, text, "{c:?}");
        // And the whole path: UNLOAD text, compressed, read by COPY.
        let cs = cols(&[("a", ColumnType::Integer), ("b", ColumnType::Varchar(20))]);
        let b = batch(
            &cs,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None])),
                strs(&[Some("x"), None]),
            ],
        );
        let mut rw = RecordWriter::new(
            OutFormat::default(),
            WriteOptions {
                null_as: null_n(),
                ..Default::default()
            },
            cs.clone(),
        )
        .unwrap();
        let mut lines = Vec::new();
        rw.write_batch(&b, &mut lines).unwrap();
        let mut file = Vec::new();
        {
            let mut w = compress(c, &mut file);
            w.write_all(&lines).unwrap();
            w.finish().unwrap();
        }
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut decompress(c, &file[..]), &mut plain).unwrap();
        let back = read_back(&plain, Format::default(), Options::default(), &cs);
        assert_same(&b, &back, &plain);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any text, double and bigint survives ESCAPE text, CSV and JSON.
    #[test]
    fn round_trip_any_values(
        rows in proptest::collection::vec(
            (
                proptest::option::of(proptest::prelude::any::<String>()),
                proptest::option::of(proptest::prelude::any::<f64>()),
                proptest::option::of(proptest::prelude::any::<i64>()),
            ),
            1..12,
        )
    ) {
        let c = cols(&[
            ("v", ColumnType::Varchar(65535)),
            ("f", ColumnType::Double),
            ("i", ColumnType::BigInt),
        ]);
        // The NULL AS string itself reloads as NULL (as in Redshift); NaN
        // compares unequal.
        let rows: Vec<_> = rows
            .into_iter()
            .map(|(v, f, i)| {
                (
                    v.filter(|s| s != "\\N" && s != "NULL"),
                    f.filter(|x| !x.is_nan()),
                    i,
                )
            })
            .collect();
        let b = batch(
            &c,
            vec![
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            ],
        );
        let write_all = |format: OutFormat, o: WriteOptions| {
            let mut w = RecordWriter::new(format, o, c.clone()).unwrap();
            let mut out = Vec::new();
            w.write_batch(&b, &mut out).unwrap();
            out
        };
        let out = write_all(
            OutFormat::default(),
            WriteOptions { null_as: null_n(), escape: true, ..Default::default() },
        );
        let back = read_back(
            &out,
            Format::default(),
            Options { escape: true, ..Default::default() },
            &c,
        );
        assert_same(&b, &back, &out);
        let out = write_all(
            OutFormat::Csv { delimiter: b',' },
            WriteOptions { null_as: Some("NULL".into()), ..Default::default() },
        );
        let back = read_back(
            &out,
            Format::csv(),
            Options { null_as: Some("NULL".into()), ..Default::default() },
            &c,
        );
        assert_same(&b, &back, &out);
        let out = write_all(OutFormat::Json, WriteOptions::default());
        let back = read_back(
            &out,
            Format::Json(JsonMapping::Auto { ignore_case: false }),
            Options::default(),
            &c,
        );
        assert_same(&b, &back, &out);
    }
}
