//! DECIMAL values: an unscaled integer and a scale, as Java's BigDecimal that ksqlDB uses.
//! 38 digits, ksqlDB's largest precision, fit in an i128.

use std::cmp::Ordering;
use std::fmt;

/// A decimal number `unscaled / 10^scale`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    pub unscaled: i128,
    pub scale: u8,
}

/// Why a decimal could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("Numeric field overflow")]
    Overflow,
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
}

fn ten_to(power: u8) -> Option<i128> {
    10i128.checked_pow(u32::from(power))
}

impl Decimal {
    pub fn new(unscaled: i128, scale: u8) -> Self {
        Decimal { unscaled, scale }
    }

    /// Parses `-12.340`, `5`, `1e3`, keeping the written scale.
    pub fn parse(text: &str) -> Result<Decimal, DecimalError> {
        let bad = || DecimalError::NotANumber(text.to_string());
        let trimmed = text.trim();
        let (mantissa, exponent) = match trimmed.find(['e', 'E']) {
            Some(at) => (
                &trimmed[..at],
                trimmed[at + 1..].parse::<i32>().map_err(|_| bad())?,
            ),
            None => (trimmed, 0),
        };
        let (negative, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .chars()
                .chain(fraction.chars())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let mut unscaled: i128 = 0;
        for digit in whole.chars().chain(fraction.chars()) {
            unscaled = unscaled
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(digit as u8 - b'0')))
                .ok_or(DecimalError::Overflow)?;
        }
        // Checked before any digit is added: `1e2000000000` is refused at once instead of
        // multiplied out, and zero with any exponent is zero.
        let scale = fraction.len() as i64 - i64::from(exponent);
        if unscaled == 0 {
            return Ok(Decimal::new(
                0,
                u8::try_from(scale.max(0)).unwrap_or(u8::MAX),
            ));
        }
        let (unscaled, scale) = if scale < 0 {
            let power = u8::try_from(-scale).map_err(|_| DecimalError::Overflow)?;
            let factor = ten_to(power).ok_or(DecimalError::Overflow)?;
            let widened = unscaled.checked_mul(factor).ok_or(DecimalError::Overflow)?;
            (widened, 0)
        } else {
            (unscaled, scale)
        };
        let scale = u8::try_from(scale).map_err(|_| DecimalError::Overflow)?;
        Ok(Decimal::new(
            if negative { -unscaled } else { unscaled },
            scale,
        ))
    }

    /// The number of significant digits, at least 1 (BigDecimal's precision()).
    pub fn precision(&self) -> u8 {
        let mut digits = 1;
        let mut rest = self.unscaled.unsigned_abs() / 10;
        while rest > 0 {
            digits += 1;
            rest /= 10;
        }
        digits
    }

    /// Rounds half-up (away from zero) or pads to `scale` digits after the point.
    pub fn rescale(&self, scale: u8) -> Result<Decimal, DecimalError> {
        match scale.cmp(&self.scale) {
            Ordering::Equal => Ok(*self),
            Ordering::Greater => {
                let factor = ten_to(scale - self.scale).ok_or(DecimalError::Overflow)?;
                let unscaled = self
                    .unscaled
                    .checked_mul(factor)
                    .ok_or(DecimalError::Overflow)?;
                Ok(Decimal::new(unscaled, scale))
            }
            Ordering::Less => {
                let Some(factor) = ten_to(self.scale - scale) else {
                    return Ok(Decimal::new(0, scale));
                };
                let quotient = self.unscaled / factor;
                let remainder = (self.unscaled % factor).abs();
                let rounded = if remainder * 2 >= factor {
                    quotient + self.unscaled.signum()
                } else {
                    quotient
                };
                Ok(Decimal::new(rounded, scale))
            }
        }
    }

    /// Fits the value to DECIMAL(precision, scale), failing as ksqlDB does when the whole
    /// part needs more digits than the type has.
    pub fn fit(&self, precision: u8, scale: u8) -> Result<Decimal, DecimalError> {
        let value = self.rescale(scale)?;
        let limit = ten_to(precision).ok_or(DecimalError::Overflow)?;
        if value.unscaled.abs() >= limit {
            return Err(DecimalError::Overflow);
        }
        Ok(value)
    }

    pub fn from_f64(value: f64) -> Result<Decimal, DecimalError> {
        if !value.is_finite() {
            return Err(DecimalError::NotANumber(value.to_string()));
        }
        Decimal::parse(&format!("{value:?}"))
    }

    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Both values at the larger of their scales.
    fn aligned(&self, other: &Decimal) -> Result<(i128, i128, u8), DecimalError> {
        let scale = self.scale.max(other.scale);
        Ok((
            self.rescale(scale)?.unscaled,
            other.rescale(scale)?.unscaled,
            scale,
        ))
    }

    pub fn checked_add(&self, other: &Decimal) -> Result<Decimal, DecimalError> {
        let (left, right, scale) = self.aligned(other)?;
        let sum = left.checked_add(right).ok_or(DecimalError::Overflow)?;
        Ok(Decimal::new(sum, scale))
    }

    pub fn checked_sub(&self, other: &Decimal) -> Result<Decimal, DecimalError> {
        self.checked_add(&Decimal::new(-other.unscaled, other.scale))
    }

    pub fn checked_mul(&self, other: &Decimal) -> Result<Decimal, DecimalError> {
        let unscaled = self
            .unscaled
            .checked_mul(other.unscaled)
            .ok_or(DecimalError::Overflow)?;
        let scale = self
            .scale
            .checked_add(other.scale)
            .ok_or(DecimalError::Overflow)?;
        Ok(Decimal::new(unscaled, scale))
    }

    /// Division rounded half-up to `scale` digits; None when dividing by zero.
    pub fn checked_div(&self, other: &Decimal, scale: u8) -> Result<Option<Decimal>, DecimalError> {
        if other.unscaled == 0 {
            return Ok(None);
        }
        // self / other = (a / 10^sa) / (b / 10^sb); scale the numerator so that the integer
        // quotient carries one digit more than wanted, then round that digit.
        let shift = i32::from(scale) + 1 + i32::from(other.scale) - i32::from(self.scale);
        let mut numerator = self.unscaled;
        let mut denominator = other.unscaled;
        if shift >= 0 {
            let factor = ten_to(shift as u8).ok_or(DecimalError::Overflow)?;
            numerator = numerator
                .checked_mul(factor)
                .ok_or(DecimalError::Overflow)?;
        } else {
            let factor = ten_to((-shift) as u8).ok_or(DecimalError::Overflow)?;
            denominator = denominator
                .checked_mul(factor)
                .ok_or(DecimalError::Overflow)?;
        }
        let extra = numerator / denominator;
        Ok(Some(Decimal::new(extra, scale + 1).rescale(scale)?))
    }

    /// The remainder, with the sign of the dividend; None when dividing by zero.
    pub fn checked_rem(&self, other: &Decimal) -> Result<Option<Decimal>, DecimalError> {
        let (left, right, scale) = self.aligned(other)?;
        if right == 0 {
            return Ok(None);
        }
        Ok(Some(Decimal::new(left % right, scale)))
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match self.aligned(other) {
            Ok((left, right, _)) => left.cmp(&right),
            Err(_) => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Decimal {
    /// Plain notation with exactly `scale` digits after the point (BigDecimal.toPlainString).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.unsigned_abs().to_string();
        let sign = if self.unscaled < 0 { "-" } else { "" };
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn parses_and_prints_with_the_written_scale() {
        assert_eq!(d("12.340").to_string(), "12.340");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(d("1e3").to_string(), "1000");
        assert_eq!(d("1.5e-2").to_string(), "0.015");
        assert!(Decimal::parse("1.2.3").is_err());
        assert!(Decimal::parse("").is_err());
    }

    #[test]
    fn huge_exponents_fail_without_expanding() {
        assert_eq!(Decimal::parse("1e2000000000"), Err(DecimalError::Overflow));
        assert_eq!(
            Decimal::parse("-1.5e2147483647"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            Decimal::parse("1.5e-2147483648"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(Decimal::parse("1e38").map(|d| d.precision()), Ok(39));
        assert_eq!(Decimal::parse("1e39"), Err(DecimalError::Overflow));
        assert_eq!(d("0e2000000000").to_string(), "0");
        assert_eq!(d("0.00e-2").to_string(), "0.0000");
        assert_eq!(d("0e2147483647").to_string(), "0");
    }

    #[test]
    fn rounds_half_up_and_detects_overflow() {
        assert_eq!(d("2.345").rescale(2).unwrap().to_string(), "2.35");
        assert_eq!(d("-2.345").rescale(2).unwrap().to_string(), "-2.35");
        assert_eq!(d("2.344").rescale(2).unwrap().to_string(), "2.34");
        assert_eq!(d("999.9").fit(4, 1).unwrap().to_string(), "999.9");
        assert_eq!(d("1000.0").fit(4, 1), Err(DecimalError::Overflow));
        assert_eq!(d("999.95").fit(4, 1), Err(DecimalError::Overflow));
    }

    #[test]
    fn arithmetic_follows_bigdecimal() {
        assert_eq!(
            d("1.5").checked_add(&d("2.25")).unwrap().to_string(),
            "3.75"
        );
        assert_eq!(
            d("1.5").checked_sub(&d("2.25")).unwrap().to_string(),
            "-0.75"
        );
        assert_eq!(
            d("1.5").checked_mul(&d("2.25")).unwrap().to_string(),
            "3.375"
        );
        let third = d("1").checked_div(&d("3"), 6).unwrap().unwrap();
        assert_eq!(third.to_string(), "0.333333");
        let two_thirds = d("2").checked_div(&d("3"), 6).unwrap().unwrap();
        assert_eq!(two_thirds.to_string(), "0.666667");
        assert_eq!(d("1").checked_div(&d("0"), 2).unwrap(), None);
        assert_eq!(
            d("-7.5").checked_rem(&d("2")).unwrap().unwrap().to_string(),
            "-1.5"
        );
        assert_eq!(d("10.0"), d("10"));
        assert!(d("9.99") < d("10"));
        assert_eq!(d("123.45").precision(), 5);
    }
}
