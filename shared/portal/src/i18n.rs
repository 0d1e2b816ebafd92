//! Swedish and English: the message catalogue and the locale's formats of
//! numbers, money and times.
//!
//! Every text a page shows is a [`Msg`] key; [`Msg::text`] gives it in a
//! [`Language`]. The catalogue is one macro invocation, so a key cannot be
//! added without both texts, and a test checks that none is left empty.
//! Texts with parts (a count, a name) are formatted by the page from a
//! key's text and the value, never by concatenating translated halves.

use chrono::{Datelike, Timelike};
use csms_domain::tenant::Language;
use csms_domain::Timestamp;
use rust_decimal::{Decimal, RoundingStrategy};

/// The time zone the portal shows times in (sites in other zones come
/// with the site's own zone later).
pub const DISPLAY_ZONE: chrono_tz::Tz = chrono_tz::Europe::Stockholm;

macro_rules! catalogue {
    ($($key:ident => $sv:literal, $en:literal;)*) => {
        /// A text of the portal; see the module docs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($key),* }

        impl Msg {
            /// Every key, for the completeness test.
            pub const ALL: &'static [Msg] = &[$(Msg::$key),*];

            /// The text in `lang`.
            pub fn text(self, lang: Language) -> &'static str {
                match (self, lang) {
                    $(
                        (Msg::$key, Language::Sv) => $sv,
                        (Msg::$key, Language::En) => $en,
                    )*
                }
            }
        }
    };
}

catalogue! {
    Product => "Laddportalen", "Charging portal";
    SkipToContent => "Hoppa till innehållet", "Skip to content";
    MainNav => "Huvudmeny", "Main menu";
    NavOverview => "Översikt", "Overview";
    NavMe => "Min laddning", "My charging";
    SignIn => "Logga in", "Sign in";
    SignOut => "Logga ut", "Sign out";
    SignedInAs => "Inloggad som", "Signed in as";
    Email => "E-postadress", "E-mail address";
    Password => "Lösenord", "Password";
    Code => "Kod från autentiseringsappen", "Code from the authenticator app";
    CodeNeeded => "Ange koden från din autentiseringsapp.", "Enter the code from your authenticator app.";
    SignInFailed => "Fel e-postadress, lösenord eller kod.", "Wrong e-mail address, password or code.";
    SignInThrottled => "För många misslyckade inloggningar. Försök igen om en stund.", "Too many failed sign-ins. Try again in a while.";
    Language => "Språk", "Language";
    SwitchLanguage => "In English", "På svenska";
    OtherLanguageName => "English", "Svenska";
    Overview => "Laddstationer", "Charging stations";
    Site => "Plats", "Site";
    AllSites => "Alla platser", "All sites";
    Filter => "Visa", "Show";
    NoStations => "Inga laddstationer än.", "No stations yet.";
    NoStationsHint => "Registrera en station via API:t (POST /api/v1/stations) så visas den här.", "Register a station through the API (POST /api/v1/stations) and it shows here.";
    Station => "Station", "Station";
    Connectors => "Uttag", "Connectors";
    Power => "Effekt", "Power";
    RunningSessions => "Pågående laddningar", "Running sessions";
    OpenAlarms => "Öppna larm", "Open alarms";
    Online => "Ansluten", "Online";
    Offline => "Inte ansluten", "Offline";
    Connection => "Anslutning", "Connection";
    LiveHint => "Uppdateras automatiskt.", "Updates automatically.";
    UpdatedAt => "Uppdaterad", "Updated";
    Unknown => "okänt", "unknown";
    Details => "Uppgifter", "Details";
    StationId => "Stations-id", "Station id";
    Name => "Namn", "Name";
    Vendor => "Tillverkare", "Vendor";
    Model => "Modell", "Model";
    Firmware => "Firmware", "Firmware";
    OcppVersion => "OCPP-version", "OCPP version";
    LastSeen => "Senast hörd", "Last seen";
    Evse => "Laddpunkt", "EVSE";
    Connector => "Uttag", "Connector";
    Status => "Status", "Status";
    NoConnectors => "Stationen har inte rapporterat några uttag än.", "The station has not reported any connectors yet.";
    RecentSessions => "Senaste laddningarna", "Recent sessions";
    NoSessions => "Inga laddningar än.", "No sessions yet.";
    Started => "Start", "Started";
    Ended => "Slut", "Ended";
    Energy => "Energi", "Energy";
    Cost => "Kostnad", "Cost";
    NotPriced => "ej prissatt", "not priced";
    Active => "pågår", "running";
    NoAlarms => "Inga öppna larm.", "No open alarms.";
    Alarm => "Larm", "Alarm";
    Raised => "Larmade", "Raised";
    SeverityWarning => "Varning", "Warning";
    SeverityCritical => "Kritiskt", "Critical";
    Commands => "Kommandon", "Commands";
    SoftReset => "Mjuk omstart", "Soft reset";
    HardReset => "Hård omstart", "Hard reset";
    Unlock => "Lås upp uttaget", "Unlock connector";
    CommandSent => "Kommandot är skickat", "The command is sent";
    CommandPending => "Väntar på svar från stationen…", "Waiting for the station's answer…";
    CommandAccepted => "Stationen godtog kommandot.", "The station accepted the command.";
    CommandRejected => "Stationen avböjde kommandot.", "The station declined the command.";
    CommandFailed => "Kommandot misslyckades.", "The command failed.";
    CommandTimeout => "Stationen svarade inte i tid.", "The station did not answer in time.";
    CommandOffline => "Stationen var inte ansluten.", "The station was not connected.";
    NotDone => "Det gick inte", "That could not be done";
    ChartHighest => "Högst", "Highest";
    ChartLowest => "Lägst", "Lowest";
    ChartEmpty => "Inget att visa för perioden.", "Nothing to show for the period.";
    ChartAsTable => "Visa som tabell", "Show as a table";
    MyCharging => "Min laddning", "My charging";
    NavInvoices => "Mina fakturor", "My invoices";
    MyInvoices => "Mina fakturor", "My invoices";
    NoInvoices => "Du har inga fakturor än.", "You have no invoices yet.";
    PaidByCard => "Dina fakturor dras automatiskt på förfallodagen från", "Your invoices are charged on their due date to";
    ChangeCard => "Byt eller ta bort kortet", "Change or remove the card";
    SaveCardForAutopay => "Spara ett kort så betalas dina fakturor automatiskt på förfallodagen", "Save a card to have your invoices paid automatically on their due date";
    InvoiceNumber => "Fakturanummer", "Invoice number";
    NavOrgInvoices => "Ekonomi", "Money";
    NavLaddId => "LaddID", "LaddID";
    LaddIdTitle => "LaddID: kort och identiteter", "LaddID: cards and identifiers";
    LaddIdNone => "Inga identiteter registrerade än.", "No identifiers registered yet.";
    LaddIdValue => "Identitet", "Identifier";
    LaddIdType => "Typ", "Type";
    LaddIdLabel => "Etikett", "Label";
    LaddIdHolder => "Innehavare", "Holder";
    LaddIdReason => "Orsak", "Reason";
    LaddIdBlock => "Spärra", "Block";
    LaddIdBlockOf => "Spärra {}", "Block {}";
    LaddIdUnblock => "Häv spärren", "Unblock";
    LaddIdUnblockOf => "Häv spärren för {}", "Unblock {}";
    LaddIdAccepted => "Aktiv", "Active";
    LaddIdBlocked => "Spärrad", "Blocked";
    LaddIdExpired => "Utgången", "Expired";
    LaddIdInvalid => "Ogiltig", "Invalid";
    LaddIdSeen => "Sedda men inte registrerade", "Seen, not registered";
    LaddIdSeenNone => "Inga okända kort eller bilar har synts vid era laddare.", "No unknown cards or cars have been seen at your chargers.";
    LaddIdSeenAt => "Senast sedd", "Last seen";
    LaddIdStation => "Laddstation", "Station";
    LaddIdTimes => "Gånger", "Times";
    LaddIdAssign => "Registrera åt", "Register for";
    LaddIdAssignOf => "Registrera {} åt", "Register {} for";
    LaddIdNobody => "Ingen innehavare", "No holder";
    LaddIdRegister => "Registrera", "Register";
    LaddIdDone => "Klart.", "Done.";
    Actions => "Åtgärder", "Actions";
    NavUsers => "Personer", "People";
    UsersTitle => "Personer och roller", "People and roles";
    UsersNone => "Inga personer än.", "No people yet.";
    UserName => "Namn", "Name";
    UserEmail => "E-post", "E-mail";
    UserRole => "Roll", "Role";
    Invite => "Bjud in", "Invite";
    InviteTitle => "Bjud in en person", "Invite a person";
    InviteHint => "Personen får ett mejl med en länk som gäller en gång.", "The person gets an e-mail with a single-use link.";
    InviteSent => "Inbjudan är skickad till {}.", "The invitation is sent to {}.";
    ChangeRole => "Ändra roll", "Change role";
    RoleChanged => "Rollen för {} är ändrad.", "The role of {} is changed.";
    OrgInvoices => "Fakturor och utbetalningar", "Invoices and payouts";
    OrgNoInvoices => "Inga fakturor än. Månadens fakturor skapas av sig själva på fakturadagen.", "No invoices yet. The month's invoices are made by themselves on the invoice day.";
    InvoiceDriver => "Förare", "Driver";
    InvoicesHeading => "Fakturor", "Invoices";
    InvoicePeriod => "Period", "Period";
    Settlement => "Avräkning", "Settlement";
    SettlementOf => "Avräkning för {}", "Settlement of {}";
    SettlementPaidIn => "Inbetalt av förare", "Paid in by drivers";
    SettlementPublic => "Betalt vid laddaren", "Paid at the chargers";
    SettlementUnpaid => "Obetalt vid periodens slut", "Unpaid at the end of the period";
    SettlementFee => "Plattformsavgift inkl. moms", "Platform fee incl. VAT";
    SettlementPayout => "Utbetalning", "Payout";
    SettlementHeld => "Innestående hos plattformen", "Held by the platform";
    SettlementNotYet => "Inte avräknad än: siffrorna är som de skulle bli i dag.", "Not settled yet: the figures are as they would be today.";
    SettlementBlocked => "Ingen utbetalning", "No payout";
    SelfInvoicePdf => "Självfaktura som PDF", "Self-invoice as PDF";
    InvoiceSeller => "Från", "From";
    InvoiceDue => "Förfallodag", "Due date";
    InvoiceAmount => "Belopp", "Amount";
    InvoiceDocument => "Faktura", "Invoice";
    InvoicePdfOf => "Faktura {} som PDF", "Invoice {} as PDF";
    InvoicePaid => "Betald", "Paid";
    InvoicePartlyPaid => "Delvis betald", "Partly paid";
    InvoiceUnpaid => "Obetald", "Unpaid";
    InvoiceOverdue => "Förfallen", "Overdue";
    SavedCard => "Sparat kort", "Saved card";
    SavedCardText => "Kortet dras för dina obetalda fakturor på förfallodagen. Kortnumret hanteras av Stripe och når aldrig oss.", "Your unpaid invoices are charged to this card on their due date. Stripe handles the card number; it never reaches us.";
    CurrentCard => "Ditt kort", "Your card";
    RemoveCard => "Ta bort kortet", "Remove the card";
    AddCard => "Spara ett kort", "Save a card";
    ReplaceCard => "Byt till ett annat kort", "Switch to another card";
    CardDetails => "Kortuppgifter", "Card details";
    SaveCard => "Spara kortet", "Save the card";
    CardSaving => "Sparar kortet…", "Saving the card…";
    CardFailed => "Kortet kunde inte sparas.", "The card could not be saved.";
    CardsOff => "Kortbetalning är inte påslagen här.", "Card payments are not switched on here.";
    Pay => "Betala", "Pay";
    PayBySwish => "Betala med Swish", "Pay by Swish";
    PayInvoiceBySwish => "Betala faktura {} med Swish", "Pay invoice {} by Swish";
    InvoiceAmountDue => "Att betala", "Amount due";
    SwishNumber => "Ditt Swish-nummer (mobilnummer)", "Your Swish number (mobile number)";
    SwishNumberHint => "Swish-appen på det numret ber dig godkänna. Lämna tomt för att öppna Swish på den här telefonen.", "The Swish app on that number asks you to approve. Leave it empty to open Swish on this phone.";
    SwishNumberInvalid => "Det är inget mobilnummer. Skriv till exempel 070-123 45 67.", "That is not a mobile number. Write for example 070-123 45 67.";
    SwishApprove => "Öppna Swish-appen och godkänn betalningen.", "Open the Swish app and approve the payment.";
    OpenSwish => "Öppna Swish", "Open Swish";
    SwishWaiting => "Väntar på betalningen i Swish…", "Waiting for the payment in Swish…";
    ThanksPaid => "Tack, fakturan är betald.", "Thank you, the invoice is paid.";
    MyHistory => "Mina laddningar", "My charging history";
    MyIdentifiers => "Mina identifierare", "My identifiers";
    NoIdentifiers => "Du har inga identifierare än.", "You have no identifiers yet.";
    Identifier => "Identifierare", "Identifier";
    Kind => "Typ", "Type";
    Label => "Benämning", "Label";
    TokenAccepted => "Giltig", "Valid";
    TokenBlocked => "Spärrad", "Blocked";
    TokenExpired => "Utgången", "Expired";
    TokenInvalid => "Ogiltig", "Invalid";
    Forbidden => "Ingen behörighet", "Not allowed";
    ForbiddenText => "Din roll ger inte tillgång till den här sidan.", "Your role does not give access to this page.";
    NotFound => "Hittades inte", "Not found";
    NotFoundText => "Sidan eller det du letar efter finns inte.", "The page or what you are looking for does not exist.";
    BadRequest => "Felaktig begäran", "Bad request";
    Failure => "Något gick fel", "Something went wrong";
    FailureText => "Försök igen om en stund. Felet är loggat.", "Try again in a while. The error has been logged.";
    BackHome => "Till startsidan", "To the start page";
    StAvailable => "Ledig", "Available";
    StCharging => "Laddar", "Charging";
    StOccupied => "Upptagen", "Occupied";
    StPreparing => "Förbereder", "Preparing";
    StFinishing => "Avslutar", "Finishing";
    StReserved => "Reserverad", "Reserved";
    StSuspendedEv => "Pausad av bilen", "Paused by the car";
    StSuspendedEvse => "Pausad av laddaren", "Paused by the charger";
    StFaulted => "Fel", "Faulted";
    StUnavailable => "Ur drift", "Unavailable";
    // The prices pages (pages/prices.rs): tariffs, the price preview, spot prices.
    NavPrices => "Priser", "Prices";
    PricesTitle => "Priser", "Prices";
    PricesTariffs => "Tariffer", "Tariffs";
    PricesNoTariffs => "Inga tariffer än. Skapa en via API:t (POST /api/v1/tariffs) så visas den här.", "No tariffs yet. Create one through the API (POST /api/v1/tariffs) and it shows here.";
    PricesExclVat => "Priserna är exklusive moms.", "Prices are excluding VAT.";
    PricesCurrency => "Valuta", "Currency";
    PricesNow => "Gäller nu", "In force now";
    PricesNothingNow => "Inget pris gäller just nu.", "No price is in force right now.";
    PricesAssigned => "Gäller för", "Applies to";
    PricesNotAssigned => "Inte tilldelad någon station, plats eller organisationen.", "Not assigned to any station, site or the organisation.";
    PricesAtStation => "station {}", "station {}";
    PricesAtSite => "plats {}", "site {}";
    PricesAtOrganisation => "hela organisationen", "the whole organisation";
    PricesForEveryone => "{}, alla förare", "{}, every driver";
    PricesForGroup => "{}, gruppen {}", "{}, group {}";
    PricesEnergy => "Energi", "Energy";
    PricesTime => "Tid", "Time";
    PricesSessionFee => "Startavgift", "Session fee";
    PricesIdle => "Parkering efter laddning", "Parking after charging";
    PricesEnergyFixed => "{} per kWh", "{} per kWh";
    PricesEnergySpot => "spotpriset i {} × {} + {} påslag + {} nätavgift + {} energiskatt per kWh", "the spot price in {} × {} + {} markup + {} grid fee + {} energy tax per kWh";
    PricesSpotFloor => ", spotdelen lägst {}", ", the spot part at least {}";
    PricesSpotCeiling => ", spotdelen högst {}", ", the spot part at most {}";
    PricesPerMinute => "per minut", "per minute";
    PricesPerHour => "per timme", "per hour";
    PricesPerKwh => "per kWh", "per kWh";
    PricesPerSession => "per laddning", "per session";
    PricesFreeMinutes => ", de första {} minuterna gratis", ", the first {} minutes free";
    PricesSessionFeeWords => "{} per laddning", "{} per session";
    PricesIdleWords => "{} från {} minuter efter att laddningen slutat", "{} from {} minutes after charging stopped";
    PricesAlways => "Alltid", "Always";
    PricesFrom => "från {}", "from {}";
    PricesUntil => "till {}", "until {}";
    PricesPreviewTitle => "Vad en förare betalar nu", "What a driver pays now";
    PricesShowPreview => "Visa priset", "Show the price";
    PricesPreviewAt => "Pris nu vid {}", "Price now at {}";
    PricesPreviewNone => "Ingen tariff gäller här: laddning vid stationen prissätts inte.", "No tariff applies here: charging at this station is not priced.";
    PricesPreviewTariff => "Tariffen {} (version {}) gäller {}.", "Tariff {} (version {}) applies at {}.";
    PricesOpenTariff => "Visa tariffen", "Show the tariff";
    PricesComponent => "Del", "Component";
    PricesExclVatShort => "Exkl. moms", "Excl. VAT";
    PricesInclVat => "Inkl. {} % moms", "Incl. {} % VAT";
    PricesInclVatShort => "Inkl. moms", "Incl. VAT";
    PricesWhy => "Varför", "Why";
    PricesElement => "Element {}", "Element {}";
    PricesSpotNow => "Spotpris nu: {} per kWh", "Spot price now: {} per kWh";
    PricesFreeNow => "De första {} minuterna är gratis", "The first {} minutes are free";
    PricesGraceNow => "Räknas från {} minuter efter att laddningen slutat", "Counted from {} minutes after charging stopped";
    PricesResolution => "Så valdes tariffen (det mest specifika först):", "How the tariff was chosen (most specific first):";
    PricesFound => "tilldelad tariff", "assigned tariff";
    PricesNotFoundHere => "ingen tilldelad", "none assigned";
    PricesSpotTitle => "Spotpriser", "Spot prices";
    PricesSpotHint => "Dagen före-priser per kWh exklusive moms, medelvärde per timme.", "Day-ahead prices per kWh excluding VAT, the mean of each hour.";
    PricesSpotNoZone => "Ingen plats har ett elområde och ingen tariff följer spotpriset.", "No site has a bidding zone and no tariff follows the spot price.";
    PricesSpotChart => "Spotpris {} {} ({})", "Spot price {} {} ({})";
    PricesToday => "i dag", "today";
    PricesTomorrow => "i morgon", "tomorrow";
    PricesHour => "Timme", "Hour";
    PricesSpotMissing => "Inga spotpriser lagrade för {} {}.", "No spot prices stored for {} on {}.";
    PricesSpotTomorrowMissing => "Morgondagens priser för {} är inte publicerade än (brukar komma vid 13).", "Tomorrow's prices for {} are not published yet (usually around 13:00).";
    PricesSpotFallback => "Priserna är en reserv: de riktiga kunde inte hämtas.", "These prices are a fallback: the real ones could not be fetched.";
    PricesBack => "Till priserna", "Back to prices";
    PricesSaved => "Sparat som version {}. Den gäller laddningar som börjar från nu.", "Saved as version {}. It applies to sessions that start from now on.";
    PricesDeleted => "Borttagen", "Deleted";
    PricesVat => "Moms", "VAT";
    PricesVersion => "Version", "Version";
    PricesEffective => "Gäller från", "In force from";
    PricesTimeZone => "Tidszon", "Time zone";
    PricesSiteZone => "platsens", "the site's";
    PricesMin => "Lägsta pris per laddning (exkl. moms)", "Lowest price per session (excl. VAT)";
    PricesMax => "Högsta pris per laddning (exkl. moms)", "Highest price per session (excl. VAT)";
    PricesElements => "Prisdelar", "Price elements";
    PricesElementsHint => "För varje del gäller det första elementet vars tider stämmer.", "For each component, the first element whose times hold sets the price.";
    PricesWhen => "När", "When";
    PricesComponents => "Priser (exkl. moms)", "Prices (excl. VAT)";
    PricesInForce => "Gäller nu", "In force now";
    PricesChange => "Ändra priset", "Change the price";
    PricesChangeHint => "Ändringen sparas som en ny version som gäller från nu; pågående laddningar behåller sitt pris. Priser exklusive moms, t.ex. 3,50.", "The change is saved as a new version in force from now; running sessions keep their price. Prices excluding VAT, e.g. 3.50.";
    PricesFieldPerKwh => "Energipris per kWh", "Energy price per kWh";
    PricesFieldMarkup => "Påslag på spotpriset per kWh", "Markup on the spot price per kWh";
    PricesFieldGridFee => "Nätavgift per kWh", "Grid fee per kWh";
    PricesFieldEnergyTax => "Energiskatt per kWh", "Energy tax per kWh";
    PricesFieldTimeMinute => "Tidspris per minut", "Time price per minute";
    PricesFieldTimeHour => "Tidspris per timme", "Time price per hour";
    PricesFieldFree => "Gratis minuter i början", "Free minutes at the start";
    PricesFieldSessionFee => "Startavgift per laddning", "Session fee";
    PricesFieldIdleMinute => "Parkeringsavgift per minut", "Parking fee per minute";
    PricesFieldIdleHour => "Parkeringsavgift per timme", "Parking fee per hour";
    PricesFieldGrace => "Minuter innan parkeringsavgiften börjar", "Minutes before the parking fee starts";
    PricesSave => "Spara ny version", "Save a new version";
    PricesAssignments => "Tilldelningar", "Assignments";
    PricesSince => "Sedan", "Since";
    PricesVersions => "Versioner", "Versions";
    // The sessions pages (pages/sessions.rs; the link on the station page).
    NavSessions => "Laddningar", "Sessions";
    SessionsTitle => "Laddningar", "Charging sessions";
    SessionsFilter => "Filtrera laddningar", "Filter sessions";
    SessionsAllStations => "Alla stationer", "All stations";
    SessionsAnyStatus => "Pågående och avslutade", "Running and ended";
    SessionsRunning => "Pågår", "Running";
    SessionsEnded => "Avslutad", "Ended";
    SessionsFrom => "Från och med", "From";
    SessionsTo => "Till och med", "To";
    SessionsCsv => "Ladda ner CSV", "Download CSV";
    SessionsPages => "Fler laddningar", "More sessions";
    SessionsOlder => "Äldre laddningar", "Older sessions";
    SessionsAllOfStation => "Alla laddningar vid stationen", "All sessions at the station";
    SessionsBack => "Till alla laddningar", "To all sessions";
    SessionTitle => "Laddning vid {}", "Session at {}";
    SessionStopReason => "Orsak till stopp", "Stop reason";
    SessionCurve => "Mätvärden", "Meter values";
    SessionPowerCurve => "Effekt", "Power";
    SessionEnergyCurve => "Energi sedan start", "Energy since the start";
    SessionTime => "Tid", "Time";
    SessionPrice => "Pris", "Price";
    SessPriceWhenEnded => "Priset räknas ut när laddningen är avslutad.", "The price is worked out when the session has ended.";
    SessPriceMissing => "Laddningen är inte prissatt: ingen taxa gällde, eller taxans spotpriser saknas.", "The session is not priced: no tariff applied, or its spot prices are missing.";
    SessPriceTariff => "Taxa", "Tariff";
    SessPriceLine => "Del", "Item";
    SessPricePeriod => "Period", "Period";
    SessPriceQuantity => "Mängd", "Quantity";
    SessPriceUnitPrice => "Pris per enhet", "Unit price";
    SessPriceNet => "Belopp exkl. moms", "Amount excl. VAT";
    SessPriceNetTotal => "Summa exkl. moms", "Total excl. VAT";
    SessPriceVat => "Moms", "VAT";
    SessPriceGross => "Att betala inkl. moms", "Total incl. VAT";
    SessPriceEnergy => "Energi", "Energy";
    SessPriceTime => "Laddtid", "Charging time";
    SessPriceFee => "Startavgift", "Session fee";
    SessPriceIdle => "Parkering efter laddning", "Idle time after charging";
    SessPriceMinimum => "Upp till lägsta pris", "Up to the minimum price";
    SessPriceMaximum => "Ned till högsta pris", "Down to the maximum price";
    SessPriceUnitSession => "laddning", "session";
    // The reports page (pages/reports.rs).
    NavReports => "Rapporter", "Reports";
    Reports => "Rapporter", "Reports";
    RepPeriod => "Månad", "Month";
    RepSite => "Plats", "Site";
    RepAllSites => "Alla platser", "All sites";
    RepGroupBy => "Dela upp per", "Group by";
    RepBySite => "Plats", "Site";
    RepByStation => "Laddstation", "Station";
    RepByEvse => "Laddpunkt", "Charging point";
    RepByMonth => "Månad", "Month";
    RepShow => "Visa", "Show";
    RepDownloadCsv => "Ladda ner som CSV", "Download as CSV";
    RepDownloadXlsx => "Ladda ner som Excel (XLSX)", "Download as Excel (XLSX)";
    RepComparedWith => "{} till {} jämfört med {} till {} (tidszon {}).", "{} to {} compared with {} to {} (time zone {}).";
    RepTotals => "Summering", "Totals";
    RepFigure => "Mått", "Figure";
    RepThisPeriod => "Perioden", "This period";
    RepPrevious => "Föregående period", "Previous period";
    RepChange => "Förändring", "Change";
    RepSessions => "Laddningar", "Sessions";
    RepEnergy => "Energi", "Energy";
    RepRevenueNet => "Intäkt exkl. moms", "Revenue excl. VAT";
    RepVat => "Moms", "VAT";
    RepRevenueGross => "Intäkt inkl. moms", "Revenue incl. VAT";
    RepOccupied => "Andel upptagen tid", "Share of time occupied";
    RepCharging => "Andel laddande tid", "Share of time charging";
    RepAvailableShare => "Andel ledig tid", "Share of time available";
    RepAvailability => "Tillgänglighet", "Availability";
    RepPeak => "Högsta effekt", "Peak power";
    RepAvgSession => "Genomsnittlig laddningstid", "Average session length";
    RepAvgIdle => "Genomsnittlig tid ansluten utan laddning", "Average idle time (plugged in, not charging)";
    RepFaults => "Fel", "Faults";
    RepPoints => "procentenheter", "percentage points";
    RepRows => "Per grupp", "Per group";
    RepHours => "Beläggning per timme i veckan", "Occupancy by hour of the week";
    RepHoursHint => "Andel av den kända tiden som laddpunkterna var upptagna, i procent, i rapportens tidszon. Ett streck betyder att tiden är okänd.", "Share of the known time the charging points were occupied, in per cent, in the report's time zone. A dash means the time is not known.";
    RepHour => "Timme", "Hour";
    RepWeekday => "Veckodag", "Weekday";
    WdMon => "Måndag", "Monday";
    WdTue => "Tisdag", "Tuesday";
    WdWed => "Onsdag", "Wednesday";
    WdThu => "Torsdag", "Thursday";
    WdFri => "Fredag", "Friday";
    WdSat => "Lördag", "Saturday";
    WdSun => "Söndag", "Sunday";
    RepRatings => "Betyg per laddstation", "Ratings per station";
    RepRatingsHint => "Förarnas betyg av sina laddningar, 1 till 5 stjärnor, sedan starten.", "Drivers' ratings of their sessions, 1 to 5 stars, since the start.";
    RepRatingCount => "Antal betyg", "Ratings";
    RepRatingAverage => "Medelbetyg", "Average";
    RepNoSite => "Ingen plats", "No site";
    RepNoRows => "Inga laddpunkter med data under perioden.", "No charging points with data in the period.";
    RepNoStations => "Inga laddstationer.", "No stations.";
    // The load-balancing pages (pages/load.rs).
    NavLoad => "Lastbalansering", "Load balancing";
    LoadTitle => "Lastbalansering", "Load balancing";
    LoadNoSites => "Ingen plats har lastbalansering.", "No site has load balancing.";
    LoadSite => "Plats", "Site";
    LoadMode => "Läge", "Mode";
    LoadModeStatic => "Statisk (säkringen är laddarnas)", "Static (the fuse is the chargers')";
    LoadModeDynamic => "Dynamisk (elmätaren visar byggnadens last)", "Dynamic (the grid meter shows the building's load)";
    LoadModeTrueDynamic => "Helt dynamisk (det en bil inte tar går till andra)", "Truly dynamic (what a car does not draw goes to others)";
    LoadGridFuse => "Huvudsäkring", "Main fuse";
    LoadEvses => "Laddpunkter", "EVSEs";
    LoadSiteTitle => "Lastbalansering: {}", "Load balancing: {}";
    LoadBack => "Alla platser med lastbalansering", "All sites with load balancing";
    LoadSetup => "Uppsättning", "Set-up";
    LoadVoltage => "Spänning", "Voltage";
    LoadPowerCap => "Effekttak", "Power cap";
    LoadBiddingZone => "Elområde", "Bidding zone";
    LoadFuseCaption => "Säkringar per fas", "Fuses per phase";
    LoadFeeder => "Säkring", "Fuse";
    LoadFedFrom => "Matas från", "Fed from";
    LoadBoard => "Central", "Board";
    LoadPhases => "Faser", "Phases";
    LoadMin => "Minst", "Minimum";
    LoadMax => "Högst", "Maximum";
    LoadPriority => "Prioritet", "Priority";
    LoadLive => "Fördelning nu", "Allocation now";
    LoadComputedAt => "Beräknad", "Computed";
    LoadNotComputed => "Inte beräknad ännu.", "Not computed yet.";
    LoadTotalCaption => "Laddarnas summa mot huvudsäkringen", "The chargers' total against the main fuse";
    LoadPhase => "Fas", "Phase";
    LoadMeter => "Elmätaren", "Grid meter";
    LoadAllocated => "Tilldelat", "Allocated";
    LoadFree => "Kvar", "Left";
    LoadAllocationCaption => "Gräns per laddpunkt", "Limit per EVSE";
    LoadLimit => "Gräns per fas", "Limit per phase";
    LoadOwnLimit => "(egen gräns utan laddning)", "(own limit without a session)";
    LoadWhy => "Varför", "Why";
    LoadStateCharging => "Laddar", "Charging";
    LoadStatePaused => "Pausad", "Paused";
    LoadStateIdle => "Ingen laddning", "No session";
    LoadStateOffline => "Frånkopplad", "Offline";
    LoadReasonFairShare => "Rättvis andel", "Fair share";
    LoadReasonEvseMax => "Laddpunktens högsta", "The EVSE's maximum";
    LoadReasonDemand => "Bilens behov", "The car's draw";
    LoadReasonPv => "Solöverskott", "Solar surplus";
    LoadReasonPlanned => "Enligt planen", "As planned";
    LoadReasonPaused => "Väntar på sin tur", "Waiting its turn";
    LoadPlan => "Plan mot spotpriser", "Plan against spot prices";
    LoadNoPlan => "Ingen plan: ingen pågående laddning har angett behov och avresetid.", "No plan: no running session has given a need and a departure time.";
    LoadPlanHint => "Laddningen läggs i de billigaste kvartarna före avresan, med spotpriser för {} (exkl. moms).", "Charging is placed in the cheapest quarter-hours before departure, with spot prices for {} (excl. VAT).";
    LoadPlanPrices => "Spotpris per kvart, {}", "Spot price per quarter-hour, {}";
    LoadPlanAmps => "Planerad ström per fas, alla laddningar", "Planned current per phase, all sessions";
    LoadSlot => "Kvart", "Quarter-hour";
    LoadPlanSessions => "Planerade laddningar", "Planned sessions";
    LoadDeparture => "Avresa", "Departure";
    LoadNeed => "Behov", "Need";
    LoadPlanned => "Planerat", "Planned";
    LoadCost => "Kostnad till spotpris", "Cost at spot price";
    // The driver's pages: rating a session (me.rs) and my bookings (me_bookings.rs).
    RateTitle => "Betygsätt dina laddningar", "Rate your sessions";
    RateHint => "Ge en avslutad laddning 1 till 5 stjärnor och gärna en kommentar. Du kan ändra betyget i 7 dagar.", "Give an ended session 1 to 5 stars and, if you like, a comment. You can change the rating for 7 days.";
    RateNothing => "Inga avslutade laddningar att betygsätta.", "No ended sessions to rate.";
    RateSessionAt => "{} den {}", "{} on {}";
    RateStars => "Betyg", "Rating";
    RateOneStar => "1 stjärna", "1 star";
    RateNStars => "{} stjärnor", "{} stars";
    RateComment => "Kommentar (frivillig)", "Comment (optional)";
    RateSave => "Spara betyget", "Save rating";
    RateChange => "Ändra betyget", "Change the rating";
    RateYours => "Ditt betyg: {} av 5 stjärnor", "Your rating: {} of 5 stars";
    RateUntil => "Kan ändras till {}.", "Can be changed until {}.";
    NavBookings => "Mina bokningar", "My bookings";
    BkHint => "Bokningar av laddpunkter för dig, kommande först. Avbokar du en bokning som laddstationen redan har reserverat tas reservationen bort där också.", "Bookings of charging points for you, upcoming first. Cancelling a booking the station has already reserved removes the reservation there too.";
    BkNone => "Inga bokningar.", "No bookings.";
    BkFrom => "Från", "From";
    BkTo => "Till", "To";
    BkCancel => "Avboka", "Cancel";
    BkCancelOf => "bokningen vid {} från {}", "the booking at {} from {}";
    BkBooked => "Bokad", "Booked";
    BkReserved => "Reserverad i stationen", "Reserved at the station";
    BkActive => "Laddar", "Charging";
    BkCompleted => "Genomförd", "Completed";
    BkCancelled => "Avbokad", "Cancelled";
    BkNoShow => "Uteblev", "No-show";
    BkRefused => "Bokad, ej reserverad i stationen", "Booked, not reserved at the station";
    // The station page's commands, events and allocation, and the overview's map (station.rs, overview.rs).
    CmdCharging => "Starta och stoppa laddning", "Start and stop charging";
    CmdStart => "Starta laddning", "Start charging";
    CmdStartHint => "Stationen startar en laddning på laddpunkten för identiteten, som om den hade visats vid laddaren.", "The station starts a session on the charging point for the identifier, as if it had been shown at the charger.";
    CmdIdentifier => "Identitet", "Identifier";
    CmdNoIdentifiers => "Organisationen har inga godkända identiteter att starta med.", "The organisation has no accepted identifiers to start with.";
    CmdAnyEvse => "Stationen väljer", "The station chooses";
    CmdRunning => "Pågående laddningar", "Running sessions";
    CmdNoneRunning => "Ingen laddning pågår.", "No session is running.";
    CmdTransaction => "Transaktion", "Transaction";
    CmdStop => "Stoppa", "Stop";
    CmdPause => "Pausa", "Pause";
    CmdResume => "Återuppta", "Resume";
    CmdAvailability => "Tillgänglighet", "Availability";
    CmdAvailabilityOf => "Gäller", "Applies to";
    CmdWholeStation => "Hela stationen", "The whole station";
    CmdOperative => "I drift", "Operative";
    CmdInoperative => "Ur drift", "Inoperative";
    CmdChangeAvailability => "Ändra tillgänglighet", "Change availability";
    CmdConfiguration => "Konfiguration", "Configuration";
    CmdKeys => "Nycklar (kommaseparerade, tomt för alla; 2.0.1: Komponent/Variabel)", "Keys (comma-separated, empty for all; 2.0.1: Component/Variable)";
    CmdKey => "Nyckel (2.0.1: Komponent/Variabel)", "Key (2.0.1: Component/Variable)";
    CmdValue => "Värde", "Value";
    CmdKeyShort => "Nyckel", "Key";
    CmdLoadLimit => "Gräns från lastbalanseringen", "Limit from load balancing";
    CmdReadConfiguration => "Läs konfigurationen", "Read configuration";
    CmdChangeConfiguration => "Ändra värdet", "Change the value";
    CmdReadOnly => "Skrivskyddad", "Read-only";
    CmdYes => "ja", "yes";
    CmdNo => "nej", "no";
    CmdUnknownKeys => "Okända nycklar", "Unknown keys";
    CmdAnswer => "Stationens svar", "The station's answer";
    CmdMaintenance => "Diagnostik och firmware", "Diagnostics and firmware";
    CmdUploadTo => "Ladda upp loggar till (URL)", "Upload logs to (URL)";
    CmdUploadDiagnostics => "Hämta diagnostik", "Upload diagnostics";
    CmdFirmwareFrom => "Firmware från (URL)", "Firmware from (URL)";
    CmdRetrieveAt => "Hämtas (lokal tid)", "Retrieve at (local time)";
    CmdUpdateFirmware => "Uppdatera firmware", "Update firmware";
    CmdProgress => "Förlopp", "Progress";
    CmdRemoteStart => "Fjärrstart", "Remote start";
    CmdRemoteStop => "Fjärrstopp", "Remote stop";
    Events => "Händelser", "Events";
    EventsHint => "Det senaste stationen har rapporterat och det som har hänt med den, nyast först.", "What the station reported and what happened to it lately, newest first.";
    EventsNone => "Inga händelser än.", "No events yet.";
    EventAt => "Tid", "Time";
    EventKind => "Slag", "Kind";
    EventWhat => "Vad", "What";
    EvBoot => "Uppstart", "Boot";
    EvConnected => "Ansluten", "Connected";
    EvStatus => "Status", "Status";
    EvNotification => "Meddelande", "Notification";
    EvAlarmRaised => "Larm", "Alarm";
    EvAlarmResolved => "Larm åtgärdat", "Alarm resolved";
    EvCommand => "Kommando", "Command";
    StationLoad => "Lastbalansering på platsen", "Load balancing at the site";
    StationLoadHint => "Vad platsens lastbalansering tilldelar stationens laddpunkter nu, och varför.", "What the site's load balancing allocates to the station's charging points now, and why.";
    StationLoadNone => "Stationens laddpunkter ingår inte i platsens lastbalansering.", "The station's charging points are not part of the site's load balancing.";
    StationLoadSite => "Hela platsens lastbalansering", "The whole site's load balancing";
    MapTitle => "Karta", "Map";
    MapHint => "Stationer på platser med koordinater; listan nedan visar samma stationer.", "Stations at sites with coordinates; the list below shows the same stations.";
    MapNone => "Ingen plats har koordinater än, så kartan är tom. Listan nedan visar alla stationer.", "No site has coordinates yet, so the map is empty. The list below shows every station.";
    // The access and bookings-calendar pages (pages/access.rs, pages/bookings.rs).
    NavAccess => "Åtkomst", "Access";
    AcTitle => "Åtkomst till stationerna", "Access to the stations";
    AcHint => "Vem som får ladda och när: privat (organisationens identifierare, eller bara vissa användargrupper), publik (alla registrerade identifierare) eller semipublik (som publik, men visas inte för roamingpartner).", "Who may charge, and when: private (the organisation's identifiers, or only some user groups), public (every registered identifier) or semi-public (as public, but not listed to roaming partners).";
    AcPrivate => "Privat", "Private";
    AcPublic => "Publik", "Public";
    AcSemiPublic => "Semipublik", "Semi-public";
    AcMixed => "Byter inom timmen", "Changes within the hour";
    AcNow => "Läge nu", "Mode now";
    AcUntilCol => "Till", "Until";
    AcUntil => "till {}", "until {}";
    AcNoChange => "ingen ändring inom ett år", "no change within a year";
    AcOwnEvses => "Laddpunkter med egen policy", "Charging points with their own policy";
    AcNoOwn => "Inga, alla följer stationen", "None, all follow the station";
    AcEvseN => "Laddpunkt {}", "Charging point {}";
    AcAttempts => "Nekade försök", "Refused attempts";
    AcAttemptsHint => "Försök att ladda som åtkomstläget nekade, nyast först (sparas i 90 dagar). Okända identifierare finns under LaddID.", "Attempts to charge the access mode refused, newest first (kept for 90 days). Unknown identifiers are under LaddID.";
    AcNoAttempts => "Inga nekade försök.", "No refused attempts.";
    AcWhen => "Tid", "Time";
    AcReason => "Orsak", "Reason";
    AcSource => "Via", "Through";
    AcRemoteStart => "Fjärrstart", "Remote start";
    AcStartLink => "Startlänk", "Start link";
    AcWhyOtherOrg => "Identifieraren tillhör en annan organisation", "The identifier is another organisation's";
    AcWhyGroup => "Identifierarens användargrupp har inte tillgång", "The identifier's user group is not allowed";
    AcWhyBooked => "Laddpunkten är bokad för en annan identifierare", "The charging point is booked for another identifier";
    AcWhySignIn => "Inloggning krävs, stationen är privat", "Sign-in required, the station is private";
    AcWhyOccupied => "Laddpunkten var upptagen: en bil laddade där", "The charging point was in use: a car was charging there";
    AcWhyUnavailable => "Stationen var inte ansluten eller ur drift", "The station was offline or out of service";
    AcStationTitle => "Åtkomst: {}", "Access: {}";
    AcBack => "Alla stationers åtkomst", "Access of all stations";
    AcSaved => "Sparat (version {}).", "Saved (version {}).";
    AcStationPolicy => "Stationen", "The station";
    AcTimeZone => "Tidszon", "Time zone";
    AcPolicies => "Policyer", "Policies";
    AcGiveOwn => "Egen policy för laddpunkt nr", "Own policy for charging point no.";
    AcEditOwn => "Visa", "Show";
    AcWeekOf => "Veckan: {}", "The week: {}";
    AcWeekCaption => "Läget dag för dag den här veckan", "The mode day by day this week";
    AcDay => "Dag", "Day";
    AcStretches => "Läge", "Mode";
    AcFollowsStation => "Laddpunkten följer stationens policy. Sparar du här får den en egen.", "The charging point follows the station's policy. Saving here gives it its own.";
    AcChange => "Ändra: {}", "Change: {}";
    AcDefault => "Läge utanför regler och undantag", "Mode outside rules and exceptions";
    AcRules => "Veckoregler", "Weekly rules";
    AcRulesHint => "Dagar och tid (TT:MM, lokal tid; sluttiden ingår inte, 24:00 är dagens slut). Över midnatt blir två regler. Töm en rad för att ta bort regeln.", "Days and time (HH:MM, local time; the end is excluded, 24:00 ends the day). Across midnight is two rules. Empty a row to remove the rule.";
    AcRuleN => "Regel {}", "Rule {}";
    AcStart => "Från kl.", "From";
    AcEnd => "Till kl.", "To";
    AcMode => "Läge", "Mode";
    AcExceptions => "Undantag (hela dagar)", "Exceptions (whole days)";
    AcExceptionsHint => "Datum ÅÅÅÅ-MM-DD; utan slutdatum gäller en dag. Undantag går före reglerna, t.ex. helgdagar. Töm en rad för att ta bort undantaget.", "Dates YYYY-MM-DD; without an end date one day. Exceptions win over the rules, e.g. holidays. Empty a row to remove the exception.";
    AcExceptionN => "Undantag {}", "Exception {}";
    AcFrom => "Från datum", "From date";
    AcTo => "Till datum", "To date";
    AcGroups => "Användargrupper som får ladda när det är privat", "User groups that may charge while private";
    AcGroupsHint => "Kommaseparerade; tomt betyder alla organisationens identifierare.", "Comma-separated; empty means every identifier of the organisation.";
    AcSave => "Spara", "Save";
    AcFollow => "Följ stationens policy igen", "Follow the station's policy again";
    NavCalendar => "Bokningskalender", "Bookings calendar";
    CalTitle => "Bokningskalender", "Bookings calendar";
    CalHint => "Organisationens bokningar veckovis, laddpunkter nedåt och dagar bortåt (lokal tid).", "The organisation's bookings week by week, charging points down and days across (local time).";
    CalAllStations => "Alla stationer", "All stations";
    CalWeeks => "Veckor", "Weeks";
    CalWeek => "Vecka {} ({}–{})", "Week {} ({}–{})";
    CalPrevWeek => "Föregående vecka", "Previous week";
    CalNextWeek => "Nästa vecka", "Next week";
    CalCapped => "Organisationen har många bokningar; alla kanske inte visas.", "The organisation has many bookings; not all may be shown.";
    CalNone => "Inga laddpunkter att visa.", "No charging points to show.";
    CalPoint => "Laddpunkt", "Charging point";
    CalBook => "Boka en laddpunkt", "Book a charging point";
    CalBookHint => "För en förares identifierare (registrerad i organisationen); tider i lokal tid, högst 24 timmar och högst 90 dagar framåt.", "For a driver's identifier (registered in the organisation); times in local time, at most 24 hours and at most 90 days ahead.";
    CalIdentifier => "Förarens identifierare", "The driver's identifier";
    CalBookButton => "Boka", "Book";
    CalBooked => "Bokat.", "Booked.";
    CalTaken => "Laddpunkten är redan bokad då.", "The charging point is already booked then.";
    CalFree => "Laddpunkten är ledig:", "The charging point is free:";
    CalFreeWindow => "från {} till {}", "from {} to {}";
    // The public pages behind a start link (public.rs) and the QR codes to print (qr_sheet.rs).
    PubStation => "Laddstation", "Charging station";
    PubEvse => "Laddpunkt {}", "Charging point {}";
    PubWhere => "Plats", "Location";
    PubStatusNow => "Status just nu", "Status now";
    PubAccessNow => "Vem får ladda nu", "Who may charge now";
    PubModePublic => "Öppen för alla", "Open to everyone";
    PubModeSemiPublic => "Öppen för alla med länken", "Open to everyone with the link";
    PubModePrivate => "Bara för medlemmar", "Members only";
    PubModeUntil => "till {}", "until {}";
    PubBooked => "Laddpunkten är bokad just nu.", "The charging point is booked now.";
    PubPriceNow => "Pris just nu", "Price now";
    PubPriceYours => "Ditt pris just nu", "Your price now";
    PubPriceGroup => "Priset för din grupp {}.", "The price of your group {}.";
    PubPriceNone => "Priset visas inte här. Fråga den som driver laddstationen.", "The price is not shown here. Ask whoever runs the charging station.";
    PubPriceExcl => "Exkl. moms", "Excl. VAT";
    PubPriceIncl => "Inkl. moms", "Incl. VAT";
    PubYouMayStart => "Du kan börja ladda här.", "You may charge here.";
    PubCannotStart => "Du kan inte börja ladda här just nu.", "You cannot charge here now.";
    PubRefSignIn => "Laddpunkten är privat just nu: logga in som medlem för att ladda.", "The charging point is private now: sign in as a member to charge.";
    PubRefOtherOrg => "Laddpunkten är privat just nu, bara för medlemmar.", "The charging point is private now, for members only.";
    PubRefGroup => "Laddpunkten är just nu bara för vissa grupper, och du är inte med i någon av dem.", "The charging point is for some groups only now, and you are in none of them.";
    PubRefBooked => "Laddpunkten är bokad för någon annan just nu.", "The charging point is booked for someone else now.";
    PubRefOccupied => "Laddpunkten används just nu: en bil laddar här. Välj en ledig laddpunkt eller vänta tills den är klar.", "The charging point is in use now: a car is charging here. Choose a free one, or wait until it is done.";
    PubRefUnavailable => "Laddstationen är inte i drift eller inte ansluten just nu.", "The charging station is out of service or not connected now.";
    PubSignInToStart => "Logga in för att ladda", "Sign in to charge";
    PubStart => "Starta laddning", "Start charging";
    PubPayTitle => "Betala med kort och ladda", "Pay by card and charge";
    PubPayHint => "Vi reserverar {} på ditt kort. Du betalar bara vad laddningen kostar, resten släpps. Kvittot kommer med e-post.", "We hold {} on your card. You pay only what the charge costs; the rest is released. The receipt comes by e-mail.";
    PubReceiptEmail => "E-postadress för kvittot", "E-mail address for the receipt";
    PubReceiptLanguage => "Kvittots språk", "The receipt's language";
    PubLangSv => "Svenska", "Swedish";
    PubLangEn => "Engelska", "English";
    PubGoToCard => "Fortsätt till kortbetalning", "Continue to card payment";
    PubCardDetails => "Kortuppgifter", "Card details";
    PubConfirmCard => "Reservera beloppet", "Hold the amount";
    PubCardWorking => "Kortet kontrolleras…", "Checking the card…";
    PubCardFailed => "Kortet gick inte att använda.", "The card could not be used.";
    PubCardHeld => "Beloppet är reserverat. Starta laddningen.", "The amount is held. Start the charge.";
    PubStartPaid => "Starta laddningen", "Start the charge";
    PubStartPaidHint => "När kortet har godkänts startar du laddningen här.", "Once the card is approved, start the charge here.";
    PubNotPaid => "Kortet har inte godkänts än, eller så har betalningen redan startat en laddning.", "The card has not been approved yet, or the payment has already started a charge.";
    PubTooSoon => "Någon startade en laddning här alldeles nyss. Försök igen om en halv minut.", "Someone started a charge here a moment ago. Try again in half a minute.";
    PubCardsOff => "Kortbetalning är inte påslagen här.", "Card payment is not switched on here.";
    PubOutcome => "Din laddning", "Your charge";
    PubOutPending => "Väntar på svar från laddaren…", "Waiting for the charger's answer…";
    PubOutAccepted => "Laddaren startar. Anslut bilen om du inte redan har gjort det.", "The charger is starting. Plug in the car if you have not already.";
    PubOutRejected => "Laddaren ville inte starta. Försök igen eller kontakta den som driver stationen.", "The charger would not start. Try again or contact whoever runs the station.";
    PubOutFailed => "Starten misslyckades.", "The start failed.";
    PubOutTimeout => "Laddaren svarade inte i tid.", "The charger did not answer in time.";
    PubOutOffline => "Laddaren är inte ansluten.", "The charger is not connected.";
    PubStatusPage => "Alla laddpunkter på stationen", "Every charging point of the station";
    PubStatusTitle => "Laddpunkternas status", "Charging points' status";
    PubStatusHint => "Uppdateras av sig själv.", "Updates by itself.";
    PubBackToStart => "Till laddpunktens sida", "To the charging point's page";
    PubStAvailable => "Ledig", "Available";
    PubStPreparing => "Bil ansluten", "Car plugged in";
    PubStCharging => "Laddar", "Charging";
    PubStSuspended => "Pausad", "Paused";
    PubStFinishing => "Avslutar", "Finishing";
    PubStOccupied => "Upptagen", "Occupied";
    PubStReserved => "Reserverad", "Reserved";
    PubStFaulted => "Ur funktion", "Out of order";
    PubStUnavailable => "Inte i drift", "Out of service";
    PubStOffline => "Inte ansluten", "Not connected";
    PubStUnknown => "Okänd", "Unknown";
    QrTitle => "QR-koder att skriva ut", "QR codes to print";
    QrHint => "Ett ark per station (A4). Skriv ut med webbläsarens utskrift; menyn skrivs inte ut. Koden leder till laddpunktens sida, där man startar och betalar.", "One sheet per station (A4). Print with the browser's print; the menu is not printed. The code leads to the charging point's page, where one starts and pays.";
    QrScan => "Skanna för att ladda", "Scan to charge";
    QrCodeOf => "QR-kod för laddpunkt {}", "QR code of charging point {}";
    QrNone => "Stationen har inte rapporterat några laddpunkter än. Ange hur många den har:", "The station has not reported any charging points yet. Say how many it has:";
    QrEvses => "Antal laddpunkter", "Number of charging points";
    QrShow => "Visa", "Show";
    QrNotConfigured => "Den publika adressen (CSMS_PUBLIC_URL) är inte inställd, så inga länkar eller QR-koder kan göras.", "The public address (CSMS_PUBLIC_URL) is not configured, so no links or QR codes can be made.";
    QrRotate => "Byt kod…", "Replace the code…";
    QrRotateConfirm => "Jag förstår att den utskrivna koden för laddpunkt {} slutar fungera direkt.", "I understand that the printed code of charging point {} stops working at once.";
    QrRotateButton => "Byt koden", "Replace the code";
    QrRotated => "Laddpunkt {} har fått en ny kod. Skriv ut arket igen.", "Charging point {} has a new code. Print the sheet again.";
    QrLink => "QR-koder att skriva ut", "QR codes to print";
    // The pages behind the mailed links (links.rs): an invitation, a forgotten password.
    LinkInvitation => "Inbjudan", "Invitation";
    LinkInvitedTo => "Du är inbjuden till {} som {}.", "You are invited to {} as {}.";
    LinkInvitedEmail => "Inbjudan gäller {}.", "The invitation is for {}.";
    LinkInvitationUntil => "Länken gäller till {}.", "The link works until {}.";
    LinkHasAccount => "Du har redan ett konto med den adressen. Godtar du inbjudan får du rollen i organisationen och är inloggad.", "You already have an account with that address. Accepting the invitation gives you the role in the organisation and signs you in.";
    LinkNewAccount => "Välj ditt namn och ett lösenord, så skapas ditt konto och du loggas in.", "Choose your name and a password: your account is made and you are signed in.";
    LinkPasswordHint => "8–64 tecken.", "8–64 characters.";
    LinkNewPassword => "Nytt lösenord", "New password";
    LinkAccept => "Godta inbjudan", "Accept the invitation";
    LinkForgot => "Glömt lösenordet?", "Forgot your password?";
    LinkForgotTitle => "Nytt lösenord", "A new password";
    LinkForgotHint => "Skriv e-postadressen du loggar in med. Har den ett konto skickar vi en länk som gäller en timme.", "Enter the e-mail address you sign in with. If it has an account, we send a link that works for an hour.";
    LinkSend => "Skicka länken", "Send the link";
    LinkSent => "Har adressen ett konto är en länk för att välja nytt lösenord på väg. Den gäller en timme. Kolla också skräpposten.", "If the address has an account, a link to choose a new password is on its way. It works for an hour. Check the spam folder too.";
    LinkResetTitle => "Välj nytt lösenord", "Choose a new password";
    LinkResetHint => "När lösenordet är bytt loggas du ut överallt och loggar in med det nya.", "Once the password is changed you are signed out everywhere and sign in with the new one.";
    LinkResetSave => "Spara lösenordet", "Save the password";
    LinkPasswordChanged => "Lösenordet är bytt. Logga in med det nya.", "The password is changed. Sign in with the new one.";
    LinkOver => "Länken fungerar inte", "The link does not work";
    LinkUsed => "Länken har redan använts.", "The link has been used already.";
    LinkRevoked => "Inbjudan har dragits tillbaka.", "The invitation has been withdrawn.";
    LinkExpired => "Länken har gått ut.", "The link has expired.";
    LinkInvalid => "Länken är inte giltig. Kontrollera att hela länken från mejlet kom med.", "The link is not valid. Check that the whole link from the e-mail came along.";
    LinkAskInviter => "Be den som bjöd in dig om en ny inbjudan.", "Ask whoever invited you for a new invitation.";
    LinkAskAgain => "Be om en ny länk.", "Ask for a new link.";
    LinkThrottled => "För många försök härifrån. Försök igen om en stund.", "Too many tries from here. Try again in a while.";
    LinkFormExpired => "Formuläret har gått ut. Ladda om sidan och försök igen.", "The form has expired. Reload the page and try again.";
    RoleOrgAdmin => "administratör", "administrator";
    RoleOperator => "driftansvarig", "operator";
    RoleAccountant => "ekonomiansvarig", "accountant";
    RoleViewer => "läsare", "viewer";
    RoleDriver => "förare", "driver";
    RolePlatformAdmin => "plattformsadministratör", "platform administrator";
    // The invoice page (pages/invoice.rs): its lines, fees and charges, totals and credit notes.
    InvoiceTitle => "Faktura {}", "Invoice {}";
    InvSessionLines => "Laddningar", "Charging sessions";
    InvChargeLines => "Avgifter och engångsposter", "Fees and one-off charges";
    InvStation => "Laddstation", "Charging station";
    InvWhen => "När", "When";
    InvWhat => "Avser", "Item";
    InvKind => "Slag", "Kind";
    InvFee => "Månadsavgift", "Monthly fee";
    InvCharge => "Engångspost", "One-off charge";
    InvDays => "{} av {} dagar", "{} of {} days";
    InvVatRate => "Momssats", "VAT rate";
    InvNet => "Netto", "Net";
    InvVat => "Moms", "VAT";
    InvVatOf => "Moms {}", "VAT {}";
    InvTotals => "Summa", "Totals";
    InvTotal => "Att betala enligt fakturan", "Invoiced";
    InvCredited => "Krediterat", "Credited";
    InvPaid => "Betalt", "Paid";
    InvLeft => "Kvar att betala", "Left to pay";
    InvCreditNotes => "Kreditfakturor", "Credit notes";
    InvNoCreditNotes => "Inga kreditfakturor.", "No credit notes.";
    InvDate => "Datum", "Date";
    InvReason => "Orsak", "Reason";
    InvCreditNotePdfOf => "Kreditfaktura {} som PDF", "Credit note {} as PDF";
}

/// `lang`'s tag for `<html lang>`.
pub fn tag(lang: Language) -> &'static str {
    lang.as_str()
}

/// `n` rounded to `decimals` places (half away from zero) with the locale's
/// grouping and decimal sign: `1 234,50` in Swedish, `1,234.50` in English.
pub fn number(n: Decimal, decimals: u32, lang: Language) -> String {
    let rounded = n.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", decimals as usize, rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let (group, point) = match lang {
        Language::Sv => (' ', ','),
        Language::En => (',', '.'),
    };
    let mut out = String::with_capacity(text.len() + int.len() / 3 + 1);
    if rounded.is_sign_negative() && !rounded.is_zero() {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(point);
        out.push_str(frac);
    }
    out
}

/// An amount of money with two decimals: `1 234,50 kr` (Swedish kronor in
/// Swedish), `1 234,50 EUR` (another currency in Swedish), `SEK 1,234.50`
/// in English.
pub fn money(amount: Decimal, currency: &str, lang: Language) -> String {
    money_dp(amount, currency, 2, lang)
}

/// An amount of money as [`money`] with `decimals` places (a unit price
/// such as `0,4567 kr`).
pub fn money_dp(amount: Decimal, currency: &str, decimals: u32, lang: Language) -> String {
    let n = number(amount, decimals, lang);
    match lang {
        Language::Sv if currency == "SEK" => format!("{n} kr"),
        Language::Sv => format!("{n} {currency}"),
        Language::En => format!("{currency} {n}"),
    }
}

/// Energy given in Wh, shown in kWh with two decimals.
pub fn kwh(wh: Decimal, lang: Language) -> String {
    format!("{} kWh", number(wh / Decimal::ONE_THOUSAND, 2, lang))
}

/// Power given in W, shown in kW with one decimal.
pub fn kw(w: Decimal, lang: Language) -> String {
    format!("{} kW", number(w / Decimal::ONE_THOUSAND, 1, lang))
}

/// A percentage (`12.5` is 12.5 %) with `decimals` places: `12,5 %` in
/// Swedish (a space before the sign), `12.5%` in English.
pub fn percent(p: Decimal, decimals: u32, lang: Language) -> String {
    let n = number(p, decimals, lang);
    match lang {
        Language::Sv => format!("{n} %"),
        Language::En => format!("{n}%"),
    }
}

/// A length of time in whole seconds, the largest two units: `1 h 05 min`,
/// `12 min 30 s`, `45 s` (the same abbreviations in both languages).
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A time in [`DISPLAY_ZONE`] to the minute: `2026-12-07 14:05` in
/// Swedish, `7 Dec 2026 14:05` in English.
pub fn datetime(t: Timestamp, lang: Language) -> String {
    let local = t.with_timezone(&DISPLAY_ZONE);
    match lang {
        Language::Sv => local.format("%Y-%m-%d %H:%M").to_string(),
        Language::En => format!(
            "{} {} {} {:02}:{:02}",
            local.day(),
            MONTHS_EN[local.month0() as usize],
            local.year(),
            local.hour(),
            local.minute()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn every_key_has_both_texts() {
        for key in Msg::ALL {
            for lang in Language::ALL {
                assert!(
                    !key.text(lang).trim().is_empty(),
                    "{key:?} has no {} text",
                    lang.as_str()
                );
            }
        }
    }

    #[test]
    fn money_in_the_locales_format() {
        assert_eq!(money(d("1234.5"), "SEK", Language::Sv), "1 234,50 kr");
        assert_eq!(money(d("1234.5"), "SEK", Language::En), "SEK 1,234.50");
        assert_eq!(money(d("0.125"), "EUR", Language::Sv), "0,13 EUR");
        assert_eq!(
            money(d("1234567.891"), "SEK", Language::Sv),
            "1 234 567,89 kr"
        );
        assert_eq!(money(d("-12"), "SEK", Language::En), "SEK -12.00");
        assert_eq!(money(d("999.999"), "SEK", Language::En), "SEK 1,000.00");
    }

    #[test]
    fn numbers_group_thousands() {
        assert_eq!(number(d("12"), 0, Language::Sv), "12");
        assert_eq!(number(d("123456"), 0, Language::Sv), "123 456");
        assert_eq!(number(d("1234.56"), 1, Language::En), "1,234.6");
        assert_eq!(number(d("-0.001"), 2, Language::Sv), "0,00");
        assert_eq!(kwh(d("12345"), Language::Sv), "12,35 kWh");
        assert_eq!(kw(d("7400"), Language::En), "7.4 kW");
    }

    #[test]
    fn percentages_and_durations() {
        assert_eq!(percent(d("12.345"), 1, Language::Sv), "12,3 %");
        assert_eq!(percent(d("1234.5"), 1, Language::En), "1,234.5%");
        assert_eq!(percent(d("-0.05"), 1, Language::En), "-0.1%");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(750), "12 min 30 s");
        assert_eq!(duration(3900), "1 h 05 min");
        assert_eq!(duration(-3), "0 s");
    }

    #[test]
    fn times_in_stockholm_in_the_locales_format() {
        // 13:05 UTC is 14:05 in Stockholm in winter, 15:05 in summer.
        let winter: Timestamp = "2026-12-07T13:05:00Z".parse().unwrap();
        assert_eq!(datetime(winter, Language::Sv), "2026-12-07 14:05");
        assert_eq!(datetime(winter, Language::En), "7 Dec 2026 14:05");
        let summer: Timestamp = "2026-07-01T13:05:00Z".parse().unwrap();
        assert_eq!(datetime(summer, Language::Sv), "2026-07-01 15:05");
    }
}
