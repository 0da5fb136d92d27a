//! A software x87 80-bit `long double`, just enough for INCRBYFLOAT.
//!
//! Redis parses INCRBYFLOAT operands with strtold, adds them in long double
//! and prints the sum with "%.17Lf". An f64 would print 10.1 + 0.1 as
//! "10.19999999999999929" where Redis prints "10.2", so the engine carries a
//! 64-bit mantissa with the exponent range of the x87 format and rounds to
//! nearest-even exactly as the hardware and glibc do. Exact intermediate
//! values use a small unsigned big integer.

use std::cmp::Ordering;

/// Mantissa bits of the x87 extended format (the integer bit is explicit).
const MANT_BITS: i64 = 64;
/// Exponent of the least significant mantissa bit of the smallest subnormal.
const MIN_EXP: i64 = -16445;
/// Largest exponent of the least significant mantissa bit of a finite value.
const MAX_EXP: i64 = 16383 - 63;
/// MAX_LONG_DOUBLE_CHARS: string2ld refuses inputs this long or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Zero,
    /// mant * 2^exp, with mant != 0.
    Finite {
        mant: u64,
        exp: i64,
    },
    Inf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    class: Class,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        neg: false,
        class: Class::Zero,
    };

    pub fn is_finite(&self) -> bool {
        self.class != Class::Inf
    }

    /// string2ld: strtold over the whole string, no leading space, no NaN,
    /// and no result that overflowed or underflowed to zero.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(LongDouble {
                neg,
                class: Class::Inf,
            });
        }
        let class = if lower.starts_with(b"0x") {
            parse_hex(&lower[2..])?
        } else {
            parse_decimal(&lower)?
        };
        // HUGE_VAL from an overflow is an ERANGE error for string2ld, unlike a literal "inf".
        if class == Class::Inf {
            return None;
        }
        Some(LongDouble { neg, class })
    }

    /// Correctly rounded sum, as the FPU computes it.
    pub fn sum(self, other: LongDouble) -> LongDouble {
        match (self.class, other.class) {
            (Class::Inf, _) | (_, Class::Inf) => LongDouble {
                neg: false,
                class: Class::Inf,
            },
            (Class::Zero, Class::Zero) => LongDouble {
                neg: self.neg && other.neg,
                class: Class::Zero,
            },
            (Class::Zero, _) => other,
            (_, Class::Zero) => self,
            (Class::Finite { mant: ma, exp: ea }, Class::Finite { mant: mb, exp: eb }) => {
                let e = ea.min(eb);
                let a = Big::from_u64(ma).shl((ea - e) as usize);
                let b = Big::from_u64(mb).shl((eb - e) as usize);
                if self.neg == other.neg {
                    return LongDouble {
                        neg: self.neg,
                        class: round(a.add(&b), e, false),
                    };
                }
                match a.cmp(&b) {
                    Ordering::Equal => LongDouble::ZERO,
                    Ordering::Greater => LongDouble {
                        neg: self.neg,
                        class: round(a.sub(&b), e, false),
                    },
                    Ordering::Less => LongDouble {
                        neg: other.neg,
                        class: round(b.sub(&a), e, false),
                    },
                }
            }
        }
    }

    /// ld2string with LD_STR_HUMAN: "%.17Lf" without trailing zeros, and
    /// "-0" printed as "0".
    pub fn to_human_string(&self) -> String {
        let (mant, exp) = match self.class {
            Class::Inf => {
                return if self.neg {
                    "-inf".into()
                } else {
                    "inf".into()
                }
            }
            Class::Zero => (0, 0),
            Class::Finite { mant, exp } => (mant, exp),
        };
        let scaled = Big::from_u64(mant).mul_pow10(17);
        let fixed = if exp >= 0 {
            scaled.shl(exp as usize)
        } else {
            shr_round_even(&scaled, (-exp) as usize)
        };
        let mut digits = fixed.to_decimal();
        while digits.len() < 18 {
            digits.insert(0, '0');
        }
        let (int_part, frac_part) = digits.split_at(digits.len() - 17);
        let frac = frac_part.trim_end_matches('0');
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        out.push_str(int_part);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// Decimal strtold body (sign already taken): digits, optional fraction,
/// optional exponent, and nothing after.
fn parse_decimal(s: &[u8]) -> Option<Class> {
    let mut i = 0;
    let mut digits = Vec::new();
    let mut frac_digits: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        digits.push(s[i] - b'0');
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            digits.push(s[i] - b'0');
            frac_digits += 1;
            i += 1;
        }
    }
    if digits.is_empty() {
        return None;
    }
    let mut exp10: i64 = 0;
    if i < s.len() && s[i] == b'e' {
        let (exp, used) = parse_exponent(&s[i + 1..])?;
        exp10 = exp;
        i += 1 + used;
    }
    if i != s.len() {
        return None;
    }
    decimal_to_class(&digits, exp10 - frac_digits)
}

/// An exponent: optional sign, at least one digit. Saturates far beyond any
/// representable value. Returns (exponent, bytes used).
fn parse_exponent(s: &[u8]) -> Option<(i64, usize)> {
    let (neg, start) = match s.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut i = start;
    let mut value: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        value = (value * 10 + i64::from(s[i] - b'0')).min(1_000_000_000);
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if neg { -value } else { value }, i))
}

/// The long double nearest to digits * 10^exp10. None on underflow to zero.
fn decimal_to_class(digits: &[u8], exp10: i64) -> Option<Class> {
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Some(Class::Zero);
    };
    let digits = &digits[first..];
    let magnitude = digits.len() as i64 + exp10;
    if magnitude > 4940 {
        return Some(Class::Inf);
    }
    if magnitude < -4960 {
        return None;
    }
    let mut n = Big::zero();
    for &d in digits {
        n = n.mul_small(10).add(&Big::from_u64(u64::from(d)));
    }
    let class = if exp10 >= 0 {
        round(n.mul_pow10(exp10 as usize), 0, false)
    } else {
        let d = Big::from_u64(1).mul_pow10((-exp10) as usize);
        // Scale so the quotient carries 66+ bits: enough to round exactly.
        let t = n.bits() as i64 - d.bits() as i64 - (MANT_BITS + 3);
        let (num, den) = if t >= 0 {
            (n, d.shl(t as usize))
        } else {
            (n.shl((-t) as usize), d)
        };
        let (q, rem_nonzero) = num.div_small_quotient(&den);
        round(q, t, rem_nonzero)
    };
    if class == Class::Zero {
        return None;
    }
    Some(class)
}

/// Hex strtold body after "0x": hex digits, optional fraction, optional p exponent.
fn parse_hex(s: &[u8]) -> Option<Class> {
    let mut i = 0;
    let mut n = Big::zero();
    let mut any = false;
    let mut frac_digits: i64 = 0;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(v) = (c as char).to_digit(16) {
            n = n.mul_small(16).add(&Big::from_u64(u64::from(v)));
            any = true;
            if seen_dot {
                frac_digits += 1;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    let mut exp2: i64 = 0;
    if i < s.len() && s[i] == b'p' {
        let (exp, used) = parse_exponent(&s[i + 1..])?;
        exp2 = exp;
        i += 1 + used;
    }
    if i != s.len() {
        return None;
    }
    if n.is_zero() {
        return Some(Class::Zero);
    }
    let e = exp2 - 4 * frac_digits;
    if e + n.bits() as i64 > 16400 {
        return Some(Class::Inf);
    }
    if e + (n.bits() as i64) < MIN_EXP - 2 {
        return None;
    }
    match round(n, e, false) {
        Class::Zero => None,
        class => Some(class),
    }
}

/// Rounds n * 2^e (plus a sticky nonzero remainder below n's last bit) to
/// the nearest long double, ties to even.
fn round(n: Big, e: i64, sticky: bool) -> Class {
    if n.is_zero() {
        return Class::Zero;
    }
    let bits = n.bits() as i64;
    let shift = (bits - MANT_BITS).max(MIN_EXP - e);
    let (mut mant, mut exp) = if shift <= 0 {
        (n.shl((-shift) as usize).low_u64(), e + shift)
    } else {
        let q = n.shr(shift as usize);
        let half = n.bit((shift - 1) as usize);
        let rest = sticky || n.any_bits_below((shift - 1) as usize);
        let mut m = q.low_u64();
        if half && (rest || m & 1 == 1) {
            match m.checked_add(1) {
                Some(v) => m = v,
                None => {
                    return finite_or_inf(1 << 63, e + shift + 1);
                }
            }
        }
        (m, e + shift)
    };
    if mant == 0 {
        return Class::Zero;
    }
    // Normalise a value that rounding carried to 2^64 is handled above; a
    // subnormal stays as it is.
    while mant & (1 << 63) == 0 && exp > MIN_EXP {
        mant <<= 1;
        exp -= 1;
    }
    finite_or_inf(mant, exp)
}

fn finite_or_inf(mant: u64, exp: i64) -> Class {
    if exp > MAX_EXP {
        Class::Inf
    } else {
        Class::Finite { mant, exp }
    }
}

/// n >> shift, rounded to nearest with ties to even (printf's rounding).
fn shr_round_even(n: &Big, shift: usize) -> Big {
    let q = n.shr(shift);
    if shift == 0 || !n.bit(shift - 1) {
        return q;
    }
    if n.any_bits_below(shift - 1) || q.bit(0) {
        return q.add(&Big::from_u64(1));
    }
    q
}

/// An unsigned big integer, little-endian 32-bit limbs, no trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bits(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() * 32 - top.leading_zeros() as usize,
        }
    }
    fn bit(&self, i: usize) -> bool {
        self.0
            .get(i / 32)
            .is_some_and(|limb| limb >> (i % 32) & 1 == 1)
    }
    /// Is any bit strictly below position `i` set?
    fn any_bits_below(&self, i: usize) -> bool {
        let full = (i / 32).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let part = i % 32;
        part != 0
            && self
                .0
                .get(i / 32)
                .is_some_and(|&l| l & ((1u32 << part) - 1) != 0)
    }
    fn low_u64(&self) -> u64 {
        let lo = u64::from(self.0.first().copied().unwrap_or(0));
        let hi = u64::from(self.0.get(1).copied().unwrap_or(0));
        lo | hi << 32
    }
    fn mul_small(&self, m: u32) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut carry = 0u64;
        for &l in &self.0 {
            let v = u64::from(l) * u64::from(m) + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }
    fn mul_pow10(&self, mut k: usize) -> Big {
        let mut b = self.clone();
        while k >= 9 {
            b = b.mul_small(1_000_000_000);
            k -= 9;
        }
        b.mul_small(10u32.pow(k as u32))
    }
    fn add(&self, o: &Big) -> Big {
        let len = self.0.len().max(o.0.len());
        let mut out = Vec::with_capacity(len + 1);
        let mut carry = 0u64;
        for i in 0..len {
            let v = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(o.0.get(i).copied().unwrap_or(0))
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }
    /// self - o, with self >= o.
    fn sub(&self, o: &Big) -> Big {
        assert!(*self >= *o, "Big::sub would underflow");
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut v = i64::from(self.0[i]) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }
    fn shl(&self, n: usize) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let (limbs, bits) = (n / 32, n % 32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push(l << bits | carry);
                carry = l >> (32 - bits);
            }
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }
    fn shr(&self, n: usize) -> Big {
        let (limbs, bits) = (n / 32, n % 32);
        if limbs >= self.0.len() {
            return Big::zero();
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let hi = if bits == 0 {
                0
            } else {
                src.get(i + 1).map_or(0, |&h| h << (32 - bits))
            };
            out.push(src[i] >> bits | hi);
        }
        let mut b = Big(out);
        b.trim();
        b
    }
    /// (self / d, remainder != 0) for a quotient of a few dozen bits:
    /// restoring division over the quotient's bit positions only.
    fn div_small_quotient(&self, d: &Big) -> (Big, bool) {
        assert!(!d.is_zero(), "division by zero");
        if *self < *d {
            return (Big::zero(), !self.is_zero());
        }
        let positions = self.bits() - d.bits() + 1;
        let mut r = self.shr(positions);
        let mut q = Big::zero();
        for i in (0..positions).rev() {
            r = r.shl(1);
            if self.bit(i) {
                r = r.add(&Big::from_u64(1));
            }
            q = q.shl(1);
            if r >= *d {
                r = r.sub(d);
                q = q.add(&Big::from_u64(1));
            }
        }
        (q, !r.is_zero())
    }
    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut chunks = Vec::new();
        let mut n = self.0.clone();
        while !n.is_empty() {
            let mut rem = 0u64;
            for limb in n.iter_mut().rev() {
                let v = rem << 32 | u64::from(*limb);
                *limb = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            while n.last() == Some(&0) {
                n.pop();
            }
            chunks.push(rem as u32);
        }
        let mut out = chunks.pop().expect("nonzero").to_string();
        for c in chunks.iter().rev() {
            out.push_str(&format!("{:09}", c));
        }
        out
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, o: &Big) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Big {
    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn sum(a: &str, b: &str) -> String {
        let a = LongDouble::parse(a.as_bytes()).expect("a parses");
        let b = LongDouble::parse(b.as_bytes()).expect("b parses");
        a.sum(b).to_human_string()
    }

    #[test]
    fn incrbyfloat_like_redis() {
        assert_eq!(sum("10.1", "0.1"), "10.2");
        assert_eq!(sum("0", "0.1"), "0.1");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("5.0e3", "2.0e2"), "5200");
        assert_eq!(sum("1", "-1"), "0");
        assert_eq!(sum("-0.0", "0"), "0");
        assert_eq!(sum("0x10", "1"), "17");
    }

    #[test]
    fn strtold_rejects() {
        for bad in [
            "", " 1", "1 ", "nan", "1e", "abc", "1e-99999", "1e99999", "0x", "1.2.3",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
    }
}
