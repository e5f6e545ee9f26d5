//! Decimal numbers held as text digits, the way Java's `BigDecimal` reads, narrows and prints
//! them. ksqlDB reads DECIMAL values with `new BigDecimal(text)` and fits them to the column
//! with rounding forbidden; Jackson reads every JSON fraction as a `BigDecimal` and prints
//! decimals with `toString()`, which turns small numbers scientific (`1E-7`). Digits are kept
//! as text so any length is exact, as in Java.

use crate::decimal::Decimal;

/// The longest plain rendering of a value an error message shows; Jackson's longest number
/// text (`StreamReadConstraints`' default maximum number length) is 1000 characters.
const MAX_SHOWN_LENGTH: u64 = 1000;

/// `digits × 10^-scale`, the digits without leading zeros ("0" for zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BigDecimal {
    negative: bool,
    digits: String,
    scale: i64,
}

impl BigDecimal {
    /// `new BigDecimal(text)`: an optional sign, digits with at most one point, an optional
    /// exponent; no spaces. Errors carry the JDK's messages.
    pub(crate) fn parse(text: &str) -> Result<BigDecimal, String> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let mut digits = String::new();
        let mut fraction_len: i64 = 0;
        let mut seen_point = false;
        let mut exponent: Option<&str> = None;
        for (at, c) in rest.char_indices() {
            match c {
                '0'..='9' => {
                    digits.push(c);
                    if seen_point {
                        fraction_len += 1;
                    }
                }
                '.' if seen_point => {
                    return Err("Character array contains more than one decimal point.".into())
                }
                '.' => seen_point = true,
                'e' | 'E' => {
                    exponent = Some(&rest[at + 1..]);
                    break;
                }
                other => {
                    return Err(format!(
                        "Character {other} is neither a decimal digit number, decimal point, \
                         nor \"e\" notation exponential mark."
                    ))
                }
            }
        }
        if digits.is_empty() {
            return Err("No digits found.".into());
        }
        let exponent = match exponent {
            None => 0,
            Some(e) => {
                let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("No exponent digits.".into());
                }
                e.parse::<i32>()
                    .map_err(|_| "Exponent overflow.".to_string())?
            }
        };
        let scale = fraction_len - i64::from(exponent);
        if i32::try_from(scale).is_err() {
            return Err("Scale out of range.".into());
        }
        let significant = digits.trim_start_matches('0');
        Ok(BigDecimal {
            negative,
            digits: if significant.is_empty() {
                "0"
            } else {
                significant
            }
            .to_string(),
            scale,
        })
    }

    pub(crate) fn from_decimal(value: &Decimal) -> BigDecimal {
        BigDecimal {
            negative: value.unscaled < 0,
            digits: value.unscaled.unsigned_abs().to_string(),
            scale: i64::from(value.scale),
        }
    }

    fn is_zero(&self) -> bool {
        self.digits == "0"
    }

    fn sign(&self) -> &'static str {
        if self.negative && !self.is_zero() {
            "-"
        } else {
            ""
        }
    }

    /// `BigDecimal.toString()`: plain when the scale is not negative and the number is not
    /// below 10^-6, else one digit before the point and an `E` exponent.
    pub(crate) fn to_java_string(&self) -> String {
        let length = self.digits.len() as i64;
        let adjusted = length - 1 - self.scale;
        if self.scale == 0 {
            return format!("{}{}", self.sign(), self.digits);
        }
        if self.scale > 0 && adjusted >= -6 {
            return self.to_plain_string();
        }
        let (first, rest) = self.digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let plus = if adjusted >= 0 { "+" } else { "" };
        format!("{}{first}{point}{rest}E{plus}{adjusted}", self.sign())
    }

    /// How long `to_plain_string` would be, computed without writing it.
    fn plain_length(&self) -> u64 {
        let digits = self.digits.len() as u64;
        let sign = self.sign().len() as u64;
        let body = if self.scale <= 0 {
            let zeros = if self.is_zero() {
                0
            } else {
                self.scale.unsigned_abs()
            };
            digits + zeros
        } else {
            digits.max(self.scale as u64 + 1) + 1
        };
        sign + body
    }

    /// The value for an error message: plain as ksqlDB shows it, unless that would take more
    /// than `MAX_SHOWN_LENGTH` characters (`1e2000000000` is two billion zeros), then in
    /// `toString()`'s scientific notation.
    pub(crate) fn to_shown_string(&self) -> String {
        if self.plain_length() <= MAX_SHOWN_LENGTH {
            self.to_plain_string()
        } else {
            self.to_java_string()
        }
    }

    /// `BigDecimal.toPlainString()`: never an exponent.
    pub(crate) fn to_plain_string(&self) -> String {
        if self.scale <= 0 {
            let zeros = if self.is_zero() { 0 } else { -self.scale };
            return format!(
                "{}{}{}",
                self.sign(),
                self.digits,
                "0".repeat(zeros as usize)
            );
        }
        let scale = self.scale as usize;
        let digits = if self.digits.len() <= scale {
            format!(
                "{}{}",
                "0".repeat(scale + 1 - self.digits.len()),
                self.digits
            )
        } else {
            self.digits.clone()
        };
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        format!("{}{whole}.{fraction}", self.sign())
    }

    /// ksqlDB's `DecimalUtil.ensureFit`: the value as DECIMAL(precision, scale), failing when
    /// the whole part needs more digits or when a non-zero digit would be rounded away.
    pub(crate) fn fit(&self, precision: u8, scale: u8) -> Result<Decimal, String> {
        let whole_digits = i64::from(precision) - i64::from(scale);
        let adjusted = self.digits.len() as i64 - 1 - self.scale;
        if !self.is_zero() && adjusted >= whole_digits {
            return Err(format!(
                "Numeric field overflow: A field with precision {precision} and scale {scale} \
                 must round to an absolute value less than 10^{whole_digits}. Got {}",
                self.to_shown_string()
            ));
        }
        if self.is_zero() {
            return Ok(Decimal::new(0, scale));
        }
        let target = i64::from(scale);
        let digits = if self.scale > target {
            let dropped = (self.scale - target) as usize;
            let keep = self.digits.len().saturating_sub(dropped);
            if self.digits[keep..].bytes().any(|b| b != b'0') {
                return Err(format!(
                    "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without \
                     rounding. (Requires {},{})",
                    self.to_shown_string(),
                    self.digits.len(),
                    self.scale
                ));
            }
            self.digits[..keep].to_string()
        } else {
            format!(
                "{}{}",
                self.digits,
                "0".repeat((target - self.scale) as usize)
            )
        };
        // At most `precision` (≤ 38) digits remain, which an i128 holds.
        let magnitude: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().unwrap_or(0)
        };
        Ok(Decimal::new(
            if self.negative { -magnitude } else { magnitude },
            scale,
        ))
    }

    /// `BigDecimal.longValue()`: the fraction dropped, then the low 64 bits of the integer.
    /// Jackson's `intValue()` and `asLong()` on any JSON number come down to this.
    pub(crate) fn wrapping_i64(&self) -> i64 {
        let length = self.digits.len() as i64;
        let whole = if self.scale >= length {
            ""
        } else if self.scale > 0 {
            &self.digits[..(length - self.scale) as usize]
        } else {
            &self.digits
        };
        let mut value = whole.bytes().fold(0u64, |acc, b| {
            acc.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
        });
        // 10^64 is a multiple of 2^64, so more trailing zeros leave nothing in the low bits.
        for _ in 0..(-self.scale).clamp(0, 64) {
            value = value.wrapping_mul(10);
        }
        let value = value as i64;
        if self.negative {
            value.wrapping_neg()
        } else {
            value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(text: &str) -> BigDecimal {
        BigDecimal::parse(text).unwrap()
    }

    #[test]
    fn prints_as_java_does() {
        for (text, java, plain) in [
            ("1.50", "1.50", "1.50"),
            ("-12.5", "-12.5", "-12.5"),
            ("1e5", "1E+5", "100000"),
            ("1.5e10", "1.5E+10", "15000000000"),
            ("0.0000001", "1E-7", "0.0000001"),
            ("0.000001", "0.000001", "0.000001"),
            ("0.00000000", "0E-8", "0.00000000"),
            ("-0.0", "0.0", "0.0"),
            ("123.4e1", "1234", "1234"),
            ("007", "7", "7"),
            ("-1.23E-10", "-1.23E-10", "-0.000000000123"),
        ] {
            let value = big(text);
            assert_eq!(value.to_java_string(), java, "{text}");
            assert_eq!(value.to_plain_string(), plain, "{text}");
        }
    }

    #[test]
    fn rejects_what_java_rejects() {
        for text in [
            "",
            "-",
            ".",
            "1..2",
            "1e",
            "1e+",
            "a1",
            " 1",
            "1 ",
            "1e5.5",
            "1e99999999999",
        ] {
            assert!(BigDecimal::parse(text).is_err(), "{text}");
        }
        assert!(big("+.5").fit(2, 1).is_ok());
        assert!(big("5.").fit(1, 0).is_ok());
    }

    fn fit(text: &str, precision: u8, scale: u8) -> Result<String, String> {
        big(text).fit(precision, scale).map(|d| d.to_string())
    }

    #[test]
    fn fits_without_rounding() {
        assert_eq!(fit("1.1", 4, 3), Ok("1.100".into()));
        assert_eq!(fit("1E+1", 3, 1), Ok("10.0".into()));
        assert_eq!(fit("-12.3000", 4, 2), Ok("-12.30".into()));
        assert_eq!(fit("0e-100", 2, 1), Ok("0.0".into()));
        assert_eq!(fit("0.99", 2, 2), Ok("0.99".into()));
        assert_eq!(
            fit(&format!("1.5{}", "0".repeat(100)), 2, 1),
            Ok("1.5".into())
        );
        assert_eq!(
            fit("1.12", 4, 1),
            Err(
                "Cannot fit decimal '1.12' into DECIMAL(4, 1) without rounding. (Requires 3,2)"
                    .into()
            )
        );
        assert_eq!(
            fit("123.45", 4, 2),
            Err(
                "Numeric field overflow: A field with precision 4 and scale 2 must round to an \
                 absolute value less than 10^2. Got 123.45"
                    .into()
            )
        );
        assert!(fit("1", 2, 2).is_err());
        assert!(fit("0.001", 5, 1).is_err());
        assert!(fit("1e400", 38, 0).is_err());
    }

    #[test]
    fn huge_exponents_are_refused_before_any_expansion() {
        assert_eq!(
            fit("1e2000000000", 10, 2),
            Err(
                "Numeric field overflow: A field with precision 10 and scale 2 must round to an \
                 absolute value less than 10^8. Got 1E+2000000000"
                    .into()
            )
        );
        assert_eq!(
            fit("-1e-2000000000", 4, 2),
            Err(
                "Cannot fit decimal '-1E-2000000000' into DECIMAL(4, 2) without rounding. \
                 (Requires 1,2000000000)"
                    .into()
            )
        );
        assert_eq!(fit("0e2000000000", 4, 2), Ok("0.00".into()));
        assert_eq!(fit("0e-2000000000", 4, 2), Ok("0.00".into()));
        // Short enough to show plainly, as ksqlDB does.
        assert!(fit("1e900", 4, 2)
            .unwrap_err()
            .ends_with(&format!("Got 1{}", "0".repeat(900))));
        assert_eq!(big("1e999").plain_length(), 1000);
        assert_eq!(big("-1.5e-3").plain_length(), "-0.0015".len() as u64);
        assert_eq!(big("0e5").plain_length(), 1);
    }

    #[test]
    fn narrows_to_long_as_java_does() {
        assert_eq!(big("41.456").wrapping_i64(), 41);
        assert_eq!(big("-41.9").wrapping_i64(), -41);
        assert_eq!(big("0.5").wrapping_i64(), 0);
        assert_eq!(big("1e3").wrapping_i64(), 1000);
        assert_eq!(big("9223372036854775808").wrapping_i64(), i64::MIN);
        assert_eq!(big("18446744073709551617").wrapping_i64(), 1);
        assert_eq!(big("3000000000").wrapping_i64() as i32, -1294967296);
        assert_eq!(big("1e400").wrapping_i64(), 0);
    }
}
