public import Foundation

/// The XML Schema `dateTimeStamp` text that VC 2.0 uses for `validFrom` and `validUntil`, limited to
/// four-digit years: `YYYY-MM-DDThh:mm:ss`, an optional fraction of at most 9 digits, then `Z` or
/// `±hh:mm` (at most 14:00). Written in UTC to the second; days are proleptic Gregorian (H. Hinnant's
/// `days_from_civil`), so no calendar or formatter object and no locale is involved.
public enum DateTimeStamp {
    /// `0001-01-01T00:00:00Z` in Unix seconds: the earliest instant written or read.
    public static let secondsMin: Int64 = -62_135_596_800
    /// `9999-12-31T23:59:59Z` in Unix seconds: the latest whole second written or read.
    public static let secondsMax: Int64 = 253_402_300_799
    /// Longest text read.
    public static let charactersMax = 64

    private static let secondsPerDay: Int64 = 86_400

    /// True when `date` lies between `secondsMin` and the end of `secondsMax`, so it can be written.
    public static func isRepresentable(_ date: Date) -> Bool {
        let seconds = date.timeIntervalSince1970
        return seconds.isFinite && seconds >= Double(secondsMin) && seconds < Double(secondsMax) + 1
    }

    /// `YYYY-MM-DDThh:mm:ssZ`, the fraction of a second dropped (rounded down). The caller keeps
    /// `date` representable (`isRepresentable`).
    public static func format(_ date: Date) -> String {
        precondition(isRepresentable(date), "a dateTimeStamp has a four-digit year")
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = floorDivision(seconds, secondsPerDay)
        let secondOfDay = seconds - days * secondsPerDay
        let (year, month, day) = civil(daysSinceEpoch: days)
        let dayText = "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
        let hour = padded(secondOfDay / 3600, 2)
        let minute = padded(secondOfDay / 60 % 60, 2)
        let second = padded(secondOfDay % 60, 2)
        return dayText + "T" + hour + ":" + minute + ":" + second + "Z"
    }

    /// The instant `text` names, or nil when it is not a `dateTimeStamp` as described on the type.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= charactersMax else { return nil }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        guard let year = decimal(bytes, 0..<4), let month = decimal(bytes, 5..<7), let day = decimal(bytes, 8..<10),
            let hour = decimal(bytes, 11..<13), let minute = decimal(bytes, 14..<16),
            let second = decimal(bytes, 17..<19)
        else { return nil }
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...daysIn(month: month, year: year)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard (1...9).contains(index - start),
                let value = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self))
            else { return nil }
            fraction = value
        }
        guard let offsetSeconds = zoneOffsetSeconds(bytes[index...]) else { return nil }
        let local = days(year: year, month: month, day: day) * secondsPerDay + hour * 3600 + minute * 60 + second
        let date = Date(timeIntervalSince1970: Double(local - offsetSeconds) + fraction)
        return isRepresentable(date) ? date : nil
    }

    /// `Z` → 0, `+hh:mm` → east of UTC in seconds, `-hh:mm` → west; nil for anything else.
    private static func zoneOffsetSeconds(_ zone: ArraySlice<UInt8>) -> Int64? {
        let bytes = Array(zone)
        if bytes == [UInt8(ascii: "Z")] { return 0 }
        guard bytes.count == 6, bytes[3] == UInt8(ascii: ":"),
            bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
            let hours = decimal(bytes, 1..<3), let minutes = decimal(bytes, 4..<6),
            minutes <= 59, hours * 60 + minutes <= 14 * 60
        else { return nil }
        let seconds = hours * 3600 + minutes * 60
        return bytes[0] == UInt8(ascii: "+") ? seconds : -seconds
    }

    /// The value of the ASCII digits at `range`, or nil if any is not a digit.
    private static func decimal(_ bytes: [UInt8], _ range: Range<Int>) -> Int64? {
        var value: Int64 = 0
        for index in range {
            let byte = bytes[index]
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func floorDivision(_ dividend: Int64, _ divisor: Int64) -> Int64 {
        let quotient = dividend / divisor
        return dividend % divisor < 0 ? quotient - 1 : quotient
    }

    private static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to `year-month-day` (Hinnant's `days_from_civil`).
    private static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivision(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
    private static func civil(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivision(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
