"""Regenerate the crafted import test files in this folder: `python tests/data/import/make_files.py`.

Each file holds defects the import must handle; tests/test_ingest.py counts on
exactly these rows (see the comments next to each row).
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from geo import boundaries, crs  # noqa: E402

TICKET_HEADER = ["工单编号", "受理时间", "来电渠道", "诉求类型", "问题分类", "诉求内容", "所属区", "街道", "详细地址",
                 "经度", "纬度", "坐标系", "承办单位", "办理状态", "响应时间", "办结时间", "满意度", "是否解决", "专项",
                 "诉求人", "联系电话"]


def ticket(tid, when, content="", district="", street="", lon="", lat="", crs_="", path="", responded="",
           closed="", sat="", resolved="", topic=""):
    return [tid, when, "电话", "投诉", path, content, district, street, "", lon, lat, crs_, "", "已办结", responded,
            closed, sat, resolved, topic, "张三", "13812341234"]


def outside_polygons_point() -> tuple[float, float]:
    """A point inside Beijing's bounding box but in no street polygon (Hebei, south-west)."""
    for lon, lat in ((115.45, 39.45), (115.50, 39.50), (115.60, 39.45), (117.45, 39.45)):
        if boundaries.assign_points([lon], [lat])["street"].iloc[0] is None:
            return lon, lat
    raise RuntimeError("no outside point found")


def defects_rows():
    bd_lon, bd_lat = crs.from_wgs84(116.3975, 39.9087, "bd09")
    out_lon, out_lat = outside_polygons_point()
    return [
        # 1 D01: standard row; category path; short district/street names; 20240306; 非常满意 -> 满意
        ticket("D01", "2024/3/5 9:07", "建国门内大街路口井盖破损", "东城", "建国门", "116.4206", "39.9088",
               path="城乡建设/市政设施/井盖破损", responded="2024-03-05 10:00:00", closed="20240306",
               sat="非常满意", resolved="是"),
        # 2 D02: ISO time with offset (UTC) -> 17:07 Beijing; lat/lon swapped; district+street from point
        ticket("D02", "2024-03-05T09:07:00+00:00", "望京河道有人偷排污水", lon="39.983", lat="116.4607"),
        # 3 D03: Excel serial; Traditional text; pinyin district; GCJ-02 point (row CRS)
        ticket("D03", "45356.5", "朝陽區路口井蓋鬆動，很危險", "Chaoyang", lon="116.467", lat="39.989", crs_="gcj02"),
        # 4 D04: 20240305; BD-09 point of Tiananmen (row CRS written in Chinese)
        ticket("D04", "20240305", "天安门附近咨询", lon=f"{bd_lon:.7f}", lat=f"{bd_lat:.7f}", crs_="百度"),
        # 5 D05: no coordinates; street short form
        ticket("D05", "2024-03-05 09:07:00", "八里庄小区供暖不热", "朝阳区", "八里庄"),
        # 6 D06: inside the bounding box, outside every polygon
        ticket("D06", "2024-03-06 08:00", "边界外的点", lon=str(out_lon), lat=str(out_lat)),
        # 7 D07: New York point: outside the region
        ticket("D07", "2024-03-06 08:00", "New York point", lon="-73.99", lat="40.72"),
        # 8 D08 written in full-width; formula-looking content
        ticket("Ｄ０８", "2024-03-06 08:00", "=SUM(A1:A9)"),
        ticket("D09", "2024-03-06 08:00", "+1 请回电"),                       # 9
        ticket("D10", "2024-03-06 08:00", "-1"),                              # 10
        ticket("D11", "2024-03-06 08:00", "@管理员 请处理"),                  # 11
        ticket("D12", "2024-03-06 08:00", '第一行\n第二行 "引号" 内容'),     # 12 embedded newline and quotes
        ticket("", "2024-03-06 08:00", "没有编号"),                           # 13 missing_id
        ticket("D13", "不是时间", "时间无法识别"),                            # 14 bad_time
        ticket("D14", "", "没有时间"),                                        # 15 bad_time
        ticket("D15", "1970-01-01", "时间太早"),                              # 16 time_out_of_range
        ticket("D16", "2024-03-07 08:00", "版本一"),                          # 17 conflicting_duplicate
        ticket("D16", "2024-03-07 08:00", "版本二"),                          # 18 conflicting_duplicate
        ticket("D17", "2024-03-07 08:00", "完全相同的两行"),                  # 19 inserted
        ticket("D17", "2024-03-07 08:00", "完全相同的两行"),                  # 20 exact duplicate -> unchanged
        ticket("D18", "2024-03-07 08:00", "井盖松动很危险", topic="欠薪"),    # 21 专项 column wins
        ticket("D19", "2024-03-07 08:00", "楼下井盖旁边有人摆摊"),            # 22 passing mention: no topic
        ticket("D20", "2024-03-07 08:00", "火星区的工单", "火星区"),          # 23 unknown district
        ticket("D21", "2024-03-07 08:00", "响应时间写错", responded="昨天"),  # 24 bad optional time, kept
    ]


def write_csv(path: Path, header, rows, encoding="utf-8", extra_line: str | None = None, at: int | None = None):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for i, r in enumerate(rows):
        if extra_line is not None and i == at:
            buf.write(extra_line + "\n")
        w.writerow(r)
    if extra_line is not None and at == len(rows):
        buf.write(extra_line + "\n")
    path.write_bytes(buf.getvalue().encode(encoding))


def main():
    rows = defects_rows()
    # line 25 of the data: one field too many -> malformed_row
    bad = ",".join(["D99", "2024-03-07 08:00"] + ["x"] * (len(TICKET_HEADER) - 1))
    write_csv(HERE / "tickets_defects.csv", TICKET_HEADER, rows, extra_line=bad, at=len(rows))

    small = [ticket("E01", "2024-03-05 09:07", "东城区井盖破损𠀀", "东城区"),
             ticket("E02", "2024-03-05 10:07", "朝阳区污水", "朝阳区")]
    gbk_small = [r[:] for r in small]
    gbk_small[0][5] = "东城区井盖破损"
    write_csv(HERE / "enc_utf8.csv", TICKET_HEADER, small, "utf-8")
    write_csv(HERE / "enc_utf8_bom.csv", TICKET_HEADER, small, "utf-8-sig")
    write_csv(HERE / "enc_gbk.csv", TICKET_HEADER, gbk_small, "gbk")
    write_csv(HERE / "enc_gb18030.csv", TICKET_HEADER, small, "gb18030")

    long_text = "长" * 100_000
    robust = [ticket("R01", "2024-03-05 09:07", long_text), ticket("R02", "2024-03-05 09:07", "a\x00b 含NUL"),
              ticket("R03", "2024-03-05 09:07", 'quote "x" ""y"" \r\n crlf')]
    write_csv(HERE / "robust.csv", TICKET_HEADER, robust)

    write_csv(HERE / "clues.csv",
              ["线索编号", "登记时间", "所属院", "检察职能", "承办部门", "专项", "线索来源", "线索状态", "审查时间",
               "线索摘要", "关联工单"],
              [["C1", "2024-03-10", "朝阳区人民检察院", "公益诉讼检察", "第八检察部", "井盖", "12345热线", "已立案",
                "2024-03-12", "井盖线索", "D01，D03;D99"],
               ["C2", "2024-03-11", "东城", "民事", "第六检察部", "欠薪", "12345热线", "待审查", "", "欠薪线索", "D18"],
               ["C3", "去年", "东城区", "民事", "第六检察部", "欠薪", "12345热线", "待审查", "", "时间错", ""]])
    write_csv(HERE / "cases.csv",
              ["案件编号", "线索编号", "立案时间", "案件类型", "监督措施", "措施时间", "回复期限", "回复时间", "是否紧急"],
              [["K1", "C1", "2024-03-15", "行政公益诉讼", "诉前检察建议", "2024-03-16", "2024-03-31", "2024-03-30", "是"],
               ["K2", "C404", "2024-03-15", "行政公益诉讼", "诉前检察建议", "", "", "", "否"],
               ["K3", "", "2024-03-15", "行政公益诉讼", "诉前检察建议", "", "", "", "否"]])
    write_csv(HERE / "rectifications.csv",
              ["案件编号", "整改时间", "整改结果", "回头看时间", "整改成效", "成效数值", "成效单位"],
              [["K1", "2024-04-01", "整改到位", "2024-06-01", "更换井盖 3 个", "3", "个"],
               ["K9", "2024-04-01", "整改到位", "", "", "", ""]])

    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "工单"
    ws.append(["工单编号", "受理时间", "诉求内容", "所属区", "经度", "纬度", "联系电话"])
    ws.append(["X01", dt.datetime(2024, 3, 5, 9, 7), "井盖破损", "东城区", 116.4206, 39.9088, 13812341234])
    ws.append(["X02", 45356.5, "污水", "朝阳区", None, None, "010-12345678"])
    ws.append([None, None, None, None, None, None, None])  # blank line inside the data: skipped
    ws.append(["X03", "2024/3/6 10:00", "咨询", "海淀", None, None, None])
    ws2 = wb.create_sheet("线索")
    ws2.append(["线索编号", "登记时间", "所属院", "关联工单"])
    ws2.append(["XC1", dt.datetime(2024, 3, 10), "东城区人民检察院", "X01 X02"])
    wb.create_sheet("说明")  # empty sheet
    wb.save(HERE / "workbook.xlsx")


if __name__ == "__main__":
    main()
