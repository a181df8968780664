//! End-to-end tests of the readers: Redshift's documented COPY examples,
//! one test per option and error code, and fuzzing of every format.

#![allow(clippy::unwrap_used)]

use crate::*;
use arrow::util::display::{ArrayFormatter, FormatOptions};

pub(crate) fn col(name: &str, ty: ColumnType) -> TargetColumn {
    TargetColumn::new(name, ty)
}

/// Rows as `a|b|c` strings (NULL as `<null>`), and the rejected rows.
pub(crate) struct Out {
    pub rows: Vec<String>,
    pub rejected: Vec<Rejected>,
    pub lines: u64,
}

pub(crate) fn run(
    input: &[u8],
    format: Format,
    options: Options,
    columns: Vec<TargetColumn>,
) -> Result<Out, FormatError> {
    validate(&format, &options, &columns)?;
    let reader = RecordReader::new(input, format, options, columns, 3);
    let mut out = Out {
        rows: Vec::new(),
        rejected: Vec::new(),
        lines: 0,
    };
    let fopts = FormatOptions::default().with_null("<null>");
    for parsed in reader {
        let parsed = parsed?;
        let b = &parsed.batch;
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &fopts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.rows.push(
                fmts.iter()
                    .map(|f| f.value(r).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
        out.rejected.extend(parsed.rejected);
        out.lines = parsed.lines_scanned;
    }
    Ok(out)
}

fn reasons(o: &Out) -> Vec<(u64, u16, String, String)> {
    o.rejected
        .iter()
        .map(|r| {
            (
                r.line_number,
                r.err_code,
                r.column.clone(),
                r.err_reason.clone(),
            )
        })
        .collect()
}

fn category() -> Vec<TargetColumn> {
    vec![
        col("catid", ColumnType::SmallInt),
        col("catgroup", ColumnType::Varchar(10)),
        col("catname", ColumnType::Varchar(10)),
        col("catdesc", ColumnType::Varchar(50)),
    ]
}

#[test]
fn category_pipe_txt() {
    let data = b"1|Sports|MLB|Major League Baseball\n2|Sports|NHL|National Hockey League\n3|Sports|NFL|National Football League\n4|Sports|NBA|National Basketball Association\n5|Sports|MLS|Major League Soccer\n";
    let o = run(data, Format::default(), Options::default(), category()).unwrap();
    assert_eq!(o.rows.len(), 5);
    assert_eq!(o.rows[0], "1|Sports|MLB|Major League Baseball");
    assert!(o.rejected.is_empty());
    assert_eq!(o.lines, 5);
}

fn venue() -> Vec<TargetColumn> {
    vec![
        col("venueid", ColumnType::SmallInt),
        col("venuename", ColumnType::Varchar(100)),
        col("venuecity", ColumnType::Varchar(30)),
        col("venuestate", ColumnType::Char(2)),
        col("venueseats", ColumnType::Integer),
    ]
}

#[test]
fn venue_pipe_txt_with_default_null_string() {
    let data = b"1|Toyota Park|Bridgeview|IL|0\n2|Columbus Crew Stadium|Columbus|OH|0\n16|TD Banknorth Garden|Boston|MA|\\N\n";
    let o = run(data, Format::default(), Options::default(), venue()).unwrap();
    assert_eq!(
        o.rows,
        [
            "1|Toyota Park|Bridgeview|IL|0",
            "2|Columbus Crew Stadium|Columbus|OH|0",
            "16|TD Banknorth Garden|Boston|MA|<null>"
        ]
    );
}

#[test]
fn load_error_codes_of_text_records() {
    let data =
        b"a|Sports|MLB|x\n1|Sports|MLB|x|extra\n2|Sports\n3|Sports|MLB|x\n4|Sports|Toolongname|x\n";
    let o = run(data, Format::default(), Options::default(), category()).unwrap();
    assert_eq!(o.rows, ["3|Sports|MLB|x"]);
    assert_eq!(
        reasons(&o),
        [
            (
                1,
                1207,
                "catid".into(),
                "Invalid digit, Value 'a', Pos 0, Type: Short".into()
            ),
            (2, 1202, "catdesc".into(), "Extra column(s) found".into()),
            (3, 1214, "catgroup".into(), "Delimiter not found".into()),
            (
                5,
                1204,
                "catname".into(),
                "String length exceeds DDL length".into()
            ),
        ]
    );
    let r = &o.rejected[0];
    assert_eq!(
        (r.col_type.as_str(), r.col_length.as_str(), r.position),
        ("int2", "", 0)
    );
    assert_eq!(r.raw_line, "a|Sports|MLB|x");
    assert_eq!(r.raw_field_value, "a");
    assert_eq!(o.rejected[3].col_length, "10");
    assert_eq!(o.lines, 5);
}

#[test]
fn fillrecord_loads_missing_trailing_columns() {
    let o = run(
        b"2|Sports\n",
        Format::default(),
        Options {
            fill_record: true,
            ..Options::default()
        },
        category(),
    )
    .unwrap();
    assert_eq!(o.rows, ["2|Sports||"]);
    let o = run(
        b"2|Sports\n",
        Format::default(),
        Options {
            fill_record: true,
            empty_as_null: true,
            ..Options::default()
        },
        category(),
    )
    .unwrap();
    assert_eq!(o.rows, ["2|Sports|<null>|<null>"]);
}

#[test]
fn not_null_columns_reject_nulls() {
    let cols = vec![
        TargetColumn::not_null("id", ColumnType::Integer),
        TargetColumn::not_null("name", ColumnType::Varchar(10)),
    ];
    let o = run(
        b"\\N|a\n1|\\N\n|b\n2|\n",
        Format::default(),
        Options::default(),
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["2|"]);
    assert_eq!(
        reasons(&o)
            .iter()
            .map(|r| (r.0, r.1, r.2.as_str(), r.3.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, 1213, "id", "Missing data for not-null field"),
            (2, 1213, "name", "Missing data for not-null field"),
            (3, 1213, "id", "Missing data for not-null field"),
        ]
    );
}

#[test]
fn header_blank_lines_and_carriage_returns() {
    let cols = vec![
        col("a", ColumnType::Integer),
        col("b", ColumnType::Varchar(10)),
    ];
    let data = b"a|b\nskip me\n1|x\r\n\n2|y";
    let o = run(
        data,
        Format::default(),
        Options {
            ignore_header: 2,
            ignore_blank_lines: true,
            ..Options::default()
        },
        cols.clone(),
    )
    .unwrap();
    assert_eq!(o.rows, ["1|x\r", "2|y"]);
    assert_eq!(o.lines, 5);
    // Without IGNOREBLANKLINES an empty line is a record with one field.
    let o = run(
        data,
        Format::default(),
        Options {
            ignore_header: 2,
            ..Options::default()
        },
        cols,
    )
    .unwrap();
    assert_eq!(
        reasons(&o),
        [(4, 1214, "a".into(), "Delimiter not found".into())]
    );
}

#[test]
fn escape_option() {
    let cols = vec![
        col("a", ColumnType::Integer),
        col("b", ColumnType::Varchar(40)),
    ];
    let data = b"1|pipe \\| and backslash \\\\\n2|new\\\nline\n3|\\N\n4|\\\\N\n5|\\012\n6|x";
    let o = run(
        data,
        Format::default(),
        Options {
            escape: true,
            ..Options::default()
        },
        cols.clone(),
    )
    .unwrap();
    assert_eq!(
        o.rows,
        [
            "1|pipe | and backslash \\",
            "2|new\nline",
            "3|<null>",
            "4|<null>",
            "5|012",
            "6|x"
        ]
    );
    assert_eq!(o.lines, 7);
    // Without ESCAPE the backslashes are data and the newline ends the record.
    let o = run(b"1|a\\|b\n", Format::default(), Options::default(), cols).unwrap();
    assert_eq!(
        reasons(&o),
        [(1, 1202, "b".into(), "Extra column(s) found".into())]
    );
}

#[test]
fn removequotes_option() {
    let cols = vec![
        col("a", ColumnType::Integer),
        col("b", ColumnType::Varchar(40)),
    ];
    let o = run(
        b"\"1\"|\"a|b\"\n2|'c'\n3|\"unbalanced\n",
        Format::default(),
        Options {
            remove_quotes: true,
            ..Options::default()
        },
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["1|a|b", "2|c"]);
    assert_eq!(o.rejected.len(), 1);
    assert_eq!(o.rejected[0].line_number, 3);
}

#[test]
fn null_as_empty_and_blank_fields() {
    let cols = vec![
        col("a", ColumnType::Integer),
        col("b", ColumnType::Varchar(10)),
        col("c", ColumnType::Char(5)),
    ];
    let data = b"|| \n1|NULL|  \n";
    let o = run(data, Format::default(), Options::default(), cols.clone()).unwrap();
    assert_eq!(o.rows, ["<null>||", "1|NULL|"]);
    let o = run(
        data,
        Format::default(),
        Options {
            null_as: Some("NULL".into()),
            blanks_as_null: true,
            ..Options::default()
        },
        cols.clone(),
    )
    .unwrap();
    assert_eq!(o.rows, ["<null>||<null>", "1|<null>|<null>"]);
    let o = run(
        data,
        Format::default(),
        Options {
            empty_as_null: true,
            ..Options::default()
        },
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["<null>|<null>|", "1|NULL|"]);
}

#[test]
fn category_csv_examples() {
    let data = b"12,Shows,Musicals,Musical theatre\n13,Shows,Plays,\"All \"\"non-musical\"\" theatre\"\n14,Shows,Opera,\"All opera, light, and \"\"rock\"\" opera\"\n15,Concerts,Classical,\"All symphony, concerto, and choir concerts\"\n";
    let o = run(data, Format::csv(), Options::default(), category()).unwrap();
    assert_eq!(
        o.rows,
        [
            "12|Shows|Musicals|Musical theatre",
            "13|Shows|Plays|All \"non-musical\" theatre",
            "14|Shows|Opera|All opera, light, and \"rock\" opera",
            "15|Concerts|Classical|All symphony, concerto, and choir concerts",
        ]
    );
    let data = b"12,Shows,Musicals,Musical theatre\n13,Shows,Plays,%All \"non-musical\" theatre%\n14,Shows,Opera,%All opera, light, and \"rock\" opera%\n";
    let o = run(
        data,
        Format::Csv {
            delimiter: b',',
            quote: b'%',
        },
        Options::default(),
        category(),
    )
    .unwrap();
    assert_eq!(o.rows[1], "13|Shows|Plays|All \"non-musical\" theatre");
    assert_eq!(
        o.rows[2],
        "14|Shows|Opera|All opera, light, and \"rock\" opera"
    );
}

#[test]
fn csv_quoted_newlines_keep_physical_line_numbers() {
    let cols = vec![
        col("a", ColumnType::Integer),
        col("b", ColumnType::Varchar(40)),
    ];
    let data = b"1, \"multi\nline\r\nvalue\" \nx,\"\"\n3,\"\"\n4,\n5,\"unclosed\n";
    let o = run(data, Format::csv(), Options::default(), cols.clone()).unwrap();
    assert_eq!(o.rows, ["1|multi\nline\r\nvalue", "3|", "4|"]);
    assert_eq!(
        reasons(&o),
        [
            (
                4,
                1207,
                "a".into(),
                "Invalid digit, Value 'x', Pos 0, Type: Integer".into()
            ),
            (
                7,
                1214,
                "".into(),
                "Invalid quote formatting for CSV".into()
            ),
        ]
    );
    assert_eq!(o.lines, 7);
    // A quoted empty string is '' unless EMPTYASNULL; \N quoted is text.
    let o = run(
        b"1,\"\"\n2,\"\\N\"\n3,\\N\n",
        Format::csv(),
        Options {
            empty_as_null: true,
            ..Options::default()
        },
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["1|<null>", "2|\\N", "3|<null>"]);
}

#[test]
fn fixed_width_venue_example() {
    let spec: Vec<(String, usize)> = [
        ("venueid", 3),
        ("venuename", 25),
        ("venuecity", 12),
        ("venuestate", 2),
        ("venueseats", 6),
    ]
    .iter()
    .map(|(l, w)| (l.to_string(), *w))
    .collect();
    let data = "1  Toyota Park              Bridgeview  IL0     \n2  Columbus Crew Stadium    Columbus    OH0\n3  Ré                       Paris       FR   12\n4  Short\n";
    let o = run(
        data.as_bytes(),
        Format::FixedWidth(spec.clone()),
        Options {
            trim_blanks: true,
            ..Options::default()
        },
        venue(),
    )
    .unwrap();
    assert_eq!(
        o.rows,
        [
            "1|Toyota Park|Bridgeview|IL|0",
            "2|Columbus Crew Stadium|Columbus|OH|0",
            "3|Ré|Paris|FR|12"
        ]
    );
    assert_eq!(
        reasons(&o),
        [(4, 1214, "venuename".into(), "Delimiter not found".into())]
    );
    let err = validate(
        &Format::FixedWidth(spec[..2].to_vec()),
        &Options::default(),
        &venue(),
    );
    assert!(matches!(err, Err(FormatError::InvalidOption(_))));
}

fn json_auto() -> Format {
    Format::Json(JsonMapping::Auto { ignore_case: false })
}

#[test]
fn json_auto_category_objects() {
    let data = br#"{
    "catdesc": "Major League Baseball",
    "catid": 1,
    "catgroup": "Sports",
    "catname": "MLB"
}
{
    "catid": 2,
    "catgroup": "Sports",
    "catname": "NHL",
    "catdesc": "National Hockey League",
    "unknown": [1, 2]
}
{"CatId": 3, "catgroup": "Shows"}
"#;
    let o = run(data, json_auto(), Options::default(), category()).unwrap();
    assert_eq!(
        o.rows,
        [
            "1|Sports|MLB|Major League Baseball",
            "2|Sports|NHL|National Hockey League",
            "<null>|Shows|<null>|<null>"
        ]
    );
    assert_eq!(o.lines, 14);
    let o = run(
        data,
        Format::Json(JsonMapping::Auto { ignore_case: true }),
        Options::default(),
        category(),
    )
    .unwrap();
    assert_eq!(o.rows[2], "3|Shows|<null>|<null>");
}

#[test]
fn json_values_into_columns() {
    let cols = vec![
        col("s", ColumnType::Varchar(100)),
        col("o", ColumnType::Varchar(100)),
        col("j", ColumnType::Super),
        col("n", ColumnType::Integer),
        col(
            "d",
            ColumnType::Decimal {
                precision: 8,
                scale: 2,
            },
        ),
        col("b", ColumnType::Boolean),
    ];
    let data = br#"{"s": "a\nb\t\\ \u00e9", "o": ["nisi","culpa"], "j": {"x": [1, "y"]}, "n": "42", "d": 20.259, "b": true}
{"s": "", "o": {"k": null}, "j": "text", "n": "", "d": "1.5", "b": "f"}
{"s": null, "j": 12.5, "n": 7}
{"j": null, "n": 1.5}
{"j": true, "n": 9999999999}
"#;
    let o = run(data, json_auto(), Options::default(), cols.clone()).unwrap();
    assert_eq!(
        o.rows,
        [
            "a\nb\t\\ é|[\"nisi\",\"culpa\"]|{\"x\": [1, \"y\"]}|42|20.25|true",
            "|{\"k\": null}|\"text\"|<null>|1.50|false",
            "<null>|<null>|12.5|7|<null>|<null>",
        ]
    );
    assert_eq!(
        reasons(&o),
        [
            (
                4,
                1207,
                "n".into(),
                "Invalid digit, Value '.', Pos 1, Type: Integer".into()
            ),
            (
                5,
                1222,
                "n".into(),
                "Overflow (Integer valid range -2147483648 to 2147483647)".into()
            ),
        ]
    );
    let o = run(
        b"{\"s\": \"\"}\n",
        json_auto(),
        Options {
            empty_as_null: true,
            ..Options::default()
        },
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["<null>|<null>|<null>|<null>|<null>|<null>"]);
}

#[test]
fn json_malformed_objects_are_rejected_and_reading_resumes() {
    let cols = vec![col("a", ColumnType::Integer)];
    let data =
        b"{\"a\": 1}\n{\"a\": tru}\n{\"a\": 3}\nnot json\n{\"a\": 5} {\"a\": 6}\n[1]\n{\"a\": 7";
    let o = run(data, json_auto(), Options::default(), cols).unwrap();
    assert_eq!(o.rows, ["1", "3", "5", "6"]);
    let lines: Vec<_> = o
        .rejected
        .iter()
        .map(|r| (r.line_number, r.err_code))
        .collect();
    assert_eq!(lines, [(2, 1216), (4, 1216), (6, 1216), (7, 1216)]);
    assert_eq!(o.lines, 7);
}

#[test]
fn jsonpaths_examples() {
    let paths = parse_json_paths(r#"{"jsonpaths": ["$[0]", "$[1]", "$[2]", "$[3]"]}"#)
        .unwrap()
        .unwrap();
    let data = b"[\"1\",\"Sports\",\"MLB\",\"Major League Baseball\"]\n[2,\"Sports\",\"NHL\",\"National Hockey League\"]\n[3,\"Shows\"]\n";
    let format = Format::Json(JsonMapping::Paths(paths));
    let o = run(data, format, Options::default(), category()).unwrap();
    assert_eq!(
        o.rows,
        [
            "1|Sports|MLB|Major League Baseball",
            "2|Sports|NHL|National Hockey League"
        ]
    );
    assert_eq!(
        reasons(&o),
        [(
            3,
            1216,
            "catname".into(),
            "Invalid JSONPath format: Not an array or index out of range.".into()
        )]
    );
    let paths =
        parse_json_paths(r#"{"jsonpaths": ["$['id']", "$['loc']['city']", "$['tags'][1]"]}"#)
            .unwrap()
            .unwrap();
    let cols = vec![
        col("id", ColumnType::BigInt),
        col("city", ColumnType::Varchar(20)),
        col("tag", ColumnType::Varchar(20)),
    ];
    let data = br#"{"id": 1, "loc": {"city": "Boston"}, "tags": ["a", "b"]}
{"id": 2, "loc": {}, "tags": ["a", "b", "c"]}
{"id": 3, "loc": "flat", "tags": []}
"#;
    let o = run(
        data,
        Format::Json(JsonMapping::Paths(paths)),
        Options::default(),
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["1|Boston|b", "2|<null>|b"]);
    assert_eq!(
        reasons(&o),
        [(
            3,
            1216,
            "city".into(),
            "Invalid JSONPath format: Member is not an object.".into()
        )]
    );
}

#[test]
fn dates_and_timestamps_through_the_reader() {
    let cols = vec![
        col("d", ColumnType::Date),
        col("t", ColumnType::Timestamp),
        col("tz", ColumnType::TimestampTz),
    ];
    let o = run(
        b"2008-01-01|2008-01-25 14:30:00|2008-01-25 14:30:00-08:00\n2008-01-01 09:00:00|2008-01-25|2008-01-25 14:30:00.5+00\n01/01/2008|x|2008-01-25 14:30:00\n",
        Format::default(),
        Options::default(),
        cols.clone(),
    )
    .unwrap();
    assert_eq!(
        o.rows,
        [
            "2008-01-01|2008-01-25T14:30:00|2008-01-25T22:30:00Z",
            "2008-01-01|2008-01-25T00:00:00|2008-01-25T14:30:00.500Z",
        ]
    );
    assert_eq!(
        reasons(&o),
        [(
            3,
            1205,
            "d".into(),
            "Invalid date format - Invalid digit encountered".into()
        )]
    );
    let o = run(
        b"2/18/2008\t2/18/2008 02:36:48\t02/18/2008 02:36:48\n",
        Format::Delimited { delimiter: b'\t' },
        Options {
            date_format: Some("MM/DD/YYYY".into()),
            time_format: Some("MM/DD/YYYY HH:MI:SS".into()),
            ..Options::default()
        },
        cols.clone(),
    )
    .unwrap();
    assert_eq!(
        o.rows,
        ["2008-02-18|2008-02-18T02:36:48|2008-02-18T02:36:48Z"]
    );
    let o = run(
        b"x|1199145600|1199145600\n",
        Format::default(),
        Options {
            time_format: Some("epochsecs".into()),
            accept_any_date: true,
            ..Options::default()
        },
        cols.clone(),
    )
    .unwrap();
    assert_eq!(o.rows, ["<null>|2008-01-01T00:00:00|2008-01-01T00:00:00Z"]);
    let o = run(
        b"2008-1-1|2008-13-01 00:00:00|\n2008-1|2008-01-01 00:00:00|\n",
        Format::default(),
        Options::default(),
        cols,
    )
    .unwrap();
    assert_eq!(
        reasons(&o),
        [
            (
                1,
                1206,
                "t".into(),
                "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]".into()
            ),
            (
                2,
                1205,
                "d".into(),
                "Invalid Date Format - length must be 10 or more".into()
            ),
        ]
    );
}

#[test]
fn option_combinations_redshift_refuses() {
    let o = Options::default;
    let cols = category();
    let bad = |f: Format, opts: Options| validate(&f, &opts, &cols).is_err();
    assert!(bad(
        Format::csv(),
        Options {
            escape: true,
            ..o()
        }
    ));
    assert!(bad(
        Format::csv(),
        Options {
            remove_quotes: true,
            ..o()
        }
    ));
    assert!(bad(
        json_auto(),
        Options {
            null_as: Some("x".into()),
            ..o()
        }
    ));
    assert!(bad(
        json_auto(),
        Options {
            escape: true,
            ..o()
        }
    ));
    assert!(bad(
        json_auto(),
        Options {
            fill_record: true,
            ..o()
        }
    ));
    assert!(bad(
        json_auto(),
        Options {
            remove_quotes: true,
            ..o()
        }
    ));
    assert!(bad(
        json_auto(),
        Options {
            ignore_blank_lines: true,
            ..o()
        }
    ));
    assert!(bad(
        Format::default(),
        Options {
            date_format: Some("YYYY-XX".into()),
            ..o()
        }
    ));
    assert!(bad(
        Format::default(),
        Options {
            time_format: Some("YYYY-MM-DD HH:MI:SS OF".into()),
            ..o()
        }
    ));
    assert!(bad(
        Format::Json(JsonMapping::Paths(vec![JsonPath::parse("$.a").unwrap()])),
        o()
    ));
    assert!(!bad(
        Format::default(),
        Options {
            escape: true,
            remove_quotes: true,
            ..o()
        }
    ));
    assert!(!bad(
        json_auto(),
        Options {
            time_format: Some("auto".into()),
            ..o()
        }
    ));
}

#[test]
fn compression_codecs() {
    use std::io::{Read, Write};
    let mut gz = Vec::new();
    for part in [&b"1|a\n"[..], &b"2|b\n"[..]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        gz.extend(e.finish().unwrap());
    }
    let mut out = String::new();
    decompress(Compression::Gzip, &gz[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "1|a\n2|b\n");
    let mut bz = Vec::new();
    for part in [&b"1|a\n"[..], &b"2|b\n"[..]] {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(part).unwrap();
        bz.extend(e.finish().unwrap());
    }
    let mut out = String::new();
    decompress(Compression::Bzip2, &bz[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "1|a\n2|b\n");
    let mut zs = zstd::encode_all(&b"1|a\n"[..], 3).unwrap();
    zs.extend(zstd::encode_all(&b"2|b\n"[..], 3).unwrap());
    let mut out = String::new();
    decompress(Compression::Zstd, &zs[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "1|a\n2|b\n");
    // Truncated and corrupted streams fail the file with an I/O error.
    let cols = vec![
        col("a", ColumnType::Integer),
        col("b", ColumnType::Varchar(5)),
    ];
    for (c, data) in [
        (Compression::Gzip, &gz[..gz.len() - 5]),
        (Compression::Bzip2, &bz[..bz.len() - 5]),
        (Compression::Zstd, &zs[..zs.len() - 3]),
        (Compression::Gzip, &b"not gzip at all"[..]),
    ] {
        let reader = RecordReader::new(
            decompress(c, data),
            Format::default(),
            Options::default(),
            cols.clone(),
            10,
        );
        let results: Vec<_> = reader.collect();
        assert!(
            results.iter().any(|r| matches!(r, Err(FormatError::Io(_)))),
            "{c:?}: {results:?}"
        );
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn columns() -> Vec<TargetColumn> {
        vec![
            col("i", ColumnType::Integer),
            col("v", ColumnType::Varchar(5)),
            TargetColumn::not_null("c", ColumnType::Char(3)),
            col(
                "d",
                ColumnType::Decimal {
                    precision: 5,
                    scale: 2,
                },
            ),
            col("dt", ColumnType::Date),
            col("ts", ColumnType::TimestampTz),
            col("b", ColumnType::Boolean),
            col("s", ColumnType::Super),
            col("f", ColumnType::Double),
            col("vb", ColumnType::Varbyte(4)),
            col("t", ColumnType::TimeTz),
        ]
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let interesting = prop::sample::select(
            b"|,\"'\\\n\r\t {}[]:aNtf0123456789.-+eE\xc3\xa9\xe0\xa4\xff".to_vec(),
        );
        prop::collection::vec(prop_oneof![3 => interesting, 1 => any::<u8>()], 0..300)
    }

    fn json_bytes() -> impl Strategy<Value = Vec<u8>> {
        let tokens = prop::sample::select(vec![
            &b"{"[..],
            b"}",
            b"[",
            b"]",
            b"\"i\":",
            b"\"v\":",
            b"\"c\":",
            b"\"s\":",
            b"\"ts\":",
            b"\"dt\":",
            b"1",
            b"-2.5e3",
            b"\"x\"",
            b"\"\\u00e9\\n\"",
            b"\"\\",
            b"true",
            b"null",
            b",",
            b"\n",
            b" ",
            b"\"2008-01-01 10:00:00+02\"",
            b"\xff",
            b"tr",
        ]);
        prop::collection::vec(tokens, 0..80).prop_map(|v| v.concat())
    }

    /// Runs a reader to the end; returns (rows, rejected, lines) or the
    /// fatal error's text. Checks the per-batch invariants on the way.
    fn drain(data: &[u8], format: Format, options: Options) -> Result<(usize, usize, u64), String> {
        let mut reader = RecordReader::new(data, format, options, columns(), 7);
        let (mut rows, mut rejected, mut lines) = (0, 0, 0);
        for p in reader.by_ref() {
            let p = p.map_err(|e| e.to_string())?;
            assert_eq!(p.batch.num_columns(), columns().len());
            assert!(p.lines_scanned >= lines);
            rows += p.batch.num_rows();
            rejected += p.rejected.len();
            for r in &p.rejected {
                assert!(r.line_number >= 1 && r.line_number <= p.lines_scanned.max(1));
                assert!((1200..=1224).contains(&r.err_code));
            }
            lines = p.lines_scanned;
        }
        assert!(reader.lines_scanned() >= lines);
        Ok((rows, rejected, reader.lines_scanned()))
    }

    fn physical_lines(data: &[u8]) -> u64 {
        let nl = data.iter().filter(|b| **b == b'\n').count() as u64;
        nl + u64::from(data.last().is_some_and(|b| *b != b'\n'))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn delimited_accounts_for_every_line(data in bytes(), fill: bool, blank: bool) {
            let o = Options { fill_record: fill, ignore_blank_lines: blank, ..Options::default() };
            let (rows, rejected, lines) = drain(&data, Format::default(), o).unwrap();
            let expected = physical_lines(&data);
            prop_assert_eq!(lines, expected);
            let blank_lines = if blank {
                data.split(|b| *b == b'\n').filter(|l| l.is_empty()).count() as u64
                    - u64::from(data.last().is_none_or(|b| *b == b'\n'))
            } else {
                0
            };
            prop_assert_eq!((rows + rejected) as u64, expected - blank_lines);
        }

        #[test]
        fn delimited_with_escape_and_removequotes(data in bytes(), escape: bool, rq: bool, header in 0u64..3) {
            let o = Options { escape, remove_quotes: rq, ignore_header: header, ..Options::default() };
            let (rows, rejected, lines) = drain(&data, Format::default(), o).unwrap();
            prop_assert_eq!(lines, physical_lines(&data));
            prop_assert!((rows + rejected) as u64 <= lines);
        }

        #[test]
        fn csv_never_panics(data in bytes(), header in 0u64..2, delim in prop::sample::select(vec![b',', b'|', b'\t', b' '])) {
            let o = Options { ignore_header: header, ..Options::default() };
            let (rows, rejected, lines) = drain(&data, Format::Csv { delimiter: delim, quote: b'"' }, o).unwrap();
            prop_assert_eq!(lines, physical_lines(&data));
            prop_assert!((rows + rejected) as u64 <= lines);
        }

        #[test]
        fn fixed_width_never_panics(data in bytes()) {
            let spec = columns().iter().map(|c| (c.name.clone(), 2)).collect();
            let (rows, rejected, lines) = drain(&data, Format::FixedWidth(spec), Options::default()).unwrap();
            prop_assert_eq!((rows + rejected) as u64, lines);
        }

        #[test]
        fn json_never_panics(data in json_bytes(), ic: bool) {
            let (_, _, lines) = drain(&data, Format::Json(JsonMapping::Auto { ignore_case: ic }), Options::default()).unwrap();
            prop_assert_eq!(lines, physical_lines(&data));
        }

        #[test]
        fn json_arbitrary_bytes(data in bytes()) {
            let (_, _, lines) = drain(&data, Format::Json(JsonMapping::Auto { ignore_case: false }), Options::default()).unwrap();
            prop_assert_eq!(lines, physical_lines(&data));
            let paths = vec![
                JsonPath::parse("$[0]").unwrap(),
                JsonPath::parse("$.v").unwrap(),
                JsonPath::parse("$.c[1].x").unwrap(),
            ];
            let mut cols_paths = paths.clone();
            while cols_paths.len() < columns().len() {
                cols_paths.push(JsonPath::parse("$.i").unwrap());
            }
            drain(&data, Format::Json(JsonMapping::Paths(cols_paths)), Options::default()).unwrap();
        }

        #[test]
        fn corrupted_gzip_fails_cleanly(data in bytes(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4), cut in any::<prop::sample::Index>()) {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).unwrap();
            let mut gz = e.finish().unwrap();
            for (i, b) in flips {
                let i = i.index(gz.len());
                gz[i] ^= b;
            }
            let keep = cut.index(gz.len() + 1);
            gz.truncate(keep.max(gz.len() / 2));
            for format in [Format::default(), Format::csv(), Format::Json(JsonMapping::Auto { ignore_case: false })] {
                let reader = RecordReader::new(decompress(Compression::Gzip, &gz[..]), format, Options::default(), columns(), 5);
                for p in reader {
                    let _ = p;
                }
            }
        }

        #[test]
        fn csv_round_trips_quoted_strings(values in prop::collection::vec(prop::collection::vec(any::<String>(), 3), 1..8)) {
            let cols: Vec<_> = ["a", "b", "c"].iter().map(|n| col(n, ColumnType::Varchar(65535))).collect();
            let mut data = Vec::new();
            for row in &values {
                let line: Vec<String> = row.iter().map(|v| format!("\"{}\"", v.replace('"', "\"\""))).collect();
                data.extend_from_slice(line.join(",").as_bytes());
                data.push(b'\n');
            }
            let o = run(&data, Format::csv(), Options::default(), cols).unwrap();
            prop_assert!(o.rejected.is_empty());
            let expected: Vec<String> = values.iter().map(|r| r.join("|")).collect();
            prop_assert_eq!(o.rows, expected);
        }
    }
}

#[test]
fn super_values_must_be_utf8_json() {
    let cols = vec![col("j", ColumnType::Super)];
    let o = run(
        b"{\"j\": \"a\xffb\"}\n{\"j\": [1]}\n",
        json_auto(),
        Options::default(),
        cols.clone(),
    )
    .unwrap();
    assert_eq!(o.rows, ["[1]"]);
    assert_eq!(o.rejected[0].err_code, 1220);
    let o = run(
        b"{\"a\": 1}\n[1, 2\n\"s\"\n",
        Format::Delimited { delimiter: b'\t' },
        Options::default(),
        cols,
    )
    .unwrap();
    assert_eq!(o.rows, ["{\"a\": 1}", "\"s\""]);
    assert_eq!(reasons(&o)[0].1, 1224);
}

#[test]
fn json_missing_keys_are_told_from_explicit_nulls() {
    // Batches of 3 rows: the row numbers restart in the second batch; a
    // rejected object does not shift them.
    let input = b"{\"a\": 1}\n{\"a\": null, \"b\": 2}\n{\"b\": 3}\n{\"a\": \"x\"}\n{\"a\": 5}\n";
    let columns = vec![col("a", ColumnType::Integer), col("b", ColumnType::Integer)];
    let reader = RecordReader::new(&input[..], json_auto(), Options::default(), columns, 3);
    let batches: Vec<Parsed> = reader.map(|p| p.unwrap()).collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].batch.num_rows(), 3);
    assert_eq!(batches[0].missing, vec![vec![2], vec![0]]);
    assert_eq!(batches[1].rejected.len(), 1);
    assert_eq!(batches[1].batch.num_rows(), 1);
    assert_eq!(batches[1].missing, vec![Vec::<u32>::new(), vec![0]]);
}
