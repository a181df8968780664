//! Bind parameters to scalar values.
//!
//! Text parameters become text values and the engine casts them to the type
//! the statement needs (as PostgreSQL's input functions would). Binary
//! parameters are read according to the type the client declared, or else the
//! type the statement inferred.

use bytes::Bytes;
use pgwire::api::Type;
use pgwire::error::{ErrorInfo, PgWireError};
use shale_engine::ScalarValue;

use super::encode::{PG_EPOCH_OFFSET_DAYS, PG_EPOCH_OFFSET_MICROS, format_decimal};

fn bad(message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        shale_common::SqlState::InvalidParameterValue.code().into(),
        message,
    )))
}

fn fixed<const N: usize>(b: &[u8], ty: &Type) -> Result<[u8; N], PgWireError> {
    b.try_into().map_err(|_| {
        bad(format!(
            "incorrect binary data format in bind parameter of type {}",
            ty.name()
        ))
    })
}

/// Decodes one parameter.
pub fn decode(value: Option<&Bytes>, binary: bool, ty: &Type) -> Result<ScalarValue, PgWireError> {
    let Some(b) = value else {
        return Ok(ScalarValue::Utf8(None));
    };
    if !binary {
        let text = std::str::from_utf8(b)
            .map_err(|_| bad("invalid byte sequence for encoding \"UTF8\"".into()))?;
        return Ok(ScalarValue::Utf8(Some(text.to_string())));
    }
    Ok(match *ty {
        Type::BOOL => ScalarValue::Boolean(Some(fixed::<1>(b, ty)?[0] != 0)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(fixed(b, ty)?))),
        Type::INT4 => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(b, ty)?))),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(b, ty)?))),
        Type::OID => ScalarValue::Int64(Some(i64::from(u32::from_be_bytes(fixed(b, ty)?)))),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(fixed(b, ty)?))),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(b, ty)?))),
        Type::NUMERIC => ScalarValue::Utf8(Some(decode_numeric(b)?)),
        Type::DATE => ScalarValue::Date32(Some(
            i32::from_be_bytes(fixed(b, ty)?).saturating_add(PG_EPOCH_OFFSET_DAYS),
        )),
        Type::TIMESTAMP => ScalarValue::TimestampMicrosecond(
            Some(i64::from_be_bytes(fixed(b, ty)?).saturating_add(PG_EPOCH_OFFSET_MICROS)),
            None,
        ),
        Type::TIMESTAMPTZ => ScalarValue::TimestampMicrosecond(
            Some(i64::from_be_bytes(fixed(b, ty)?).saturating_add(PG_EPOCH_OFFSET_MICROS)),
            Some("+00:00".into()),
        ),
        Type::TIME => ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed(b, ty)?))),
        Type::BYTEA => ScalarValue::Binary(Some(b.to_vec())),
        // Text-like types send their bytes unchanged in binary format too.
        _ => ScalarValue::Utf8(Some(
            std::str::from_utf8(b)
                .map_err(|_| bad("invalid byte sequence for encoding \"UTF8\"".into()))?
                .to_string(),
        )),
    })
}

/// PostgreSQL's binary numeric to decimal text.
fn decode_numeric(b: &[u8]) -> Result<String, PgWireError> {
    let err = || bad("invalid binary numeric in bind parameter".into());
    if b.len() < 8 {
        return Err(err());
    }
    let word = |i: usize| i16::from_be_bytes([b[i], b[i + 1]]);
    let ndigits = usize::try_from(word(0)).map_err(|_| err())?;
    let weight = i32::from(word(2));
    let sign = u16::from_be_bytes([b[4], b[5]]);
    let dscale = u16::from_be_bytes([b[6], b[7]]);
    if b.len() != 8 + ndigits * 2 {
        return Err(err());
    }
    if sign == 0xC000 {
        return Ok("NaN".into());
    }
    let mut value: i128 = 0;
    // Accumulate digits as an integer scaled by 10^(4 * fractional groups).
    let mut scale: i32 = 0;
    for i in 0..ndigits {
        let d = word(8 + i * 2);
        if !(0..10000).contains(&d) {
            return Err(err());
        }
        value = value
            .checked_mul(10000)
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or_else(err)?;
    }
    // The last group has weight (weight - ndigits + 1).
    let last_weight = weight - ndigits as i32 + 1;
    if last_weight >= 0 {
        for _ in 0..last_weight {
            value = value.checked_mul(10000).ok_or_else(err)?;
        }
    } else {
        scale = -last_weight * 4;
    }
    if sign == 0x4000 {
        value = -value;
    }
    let text = format_decimal(value, i8::try_from(scale).map_err(|_| err())?);
    // Trim to the display scale.
    let target = usize::from(dscale);
    Ok(match text.split_once('.') {
        Some((int, frac)) if frac.len() > target => {
            if target == 0 {
                int.to_string()
            } else {
                format!("{int}.{}", &frac[..target])
            }
        }
        Some((int, frac)) => format!("{int}.{frac}{}", "0".repeat(target - frac.len())),
        None if target > 0 => format!("{text}.{}", "0".repeat(target)),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn roundtrip(v: i128, s: i8) -> String {
        let mut b = BytesMut::new();
        super::super::encode::write_numeric_binary(v, s, &mut b);
        decode_numeric(&b).expect("decode")
    }

    #[test]
    fn numeric_round_trips() {
        assert_eq!(roundtrip(12345, 2), "123.45");
        assert_eq!(roundtrip(-1, 4), "-0.0001");
        assert_eq!(roundtrip(10000, 0), "10000");
        assert_eq!(roundtrip(0, 2), "0.00");
        assert_eq!(roundtrip(123456789, 1), "12345678.9");
    }

    #[test]
    fn malformed_binary_is_an_error_not_a_panic() {
        assert!(decode(Some(&Bytes::from_static(b"\x01")), true, &Type::INT4).is_err());
        assert!(
            decode(
                Some(&Bytes::from_static(b"\x00\x05\x00\x00\x00\x00\x00\x00")),
                true,
                &Type::NUMERIC
            )
            .is_err()
        );
        assert!(decode(Some(&Bytes::from_static(b"\xff\xfe")), false, &Type::TEXT).is_err());
    }
}
