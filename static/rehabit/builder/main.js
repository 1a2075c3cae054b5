// The plan builder page: wires the library, the plan rows, protocols, checks, preview and save.
import { debounce, fmt, getJSON, postJSON, showErrors } from "./api.js";
import { Library } from "./library.js";
import { PlanRows } from "./plan.js";

const data = JSON.parse(document.getElementById("builder-data").textContent);
const strings = JSON.parse(document.getElementById("builder-strings").textContent);
const form = document.getElementById("pb-form");
const status = document.getElementById("pb-status");
const totals = document.getElementById("pb-totals");
const warnings = document.getElementById("pb-warnings");
let template = null;
let dirty = false;
let checkSequence = 0;

const say = (text, alert = false) => {
    status.textContent = text;
    status.setAttribute("role", alert ? "alert" : "status");
    status.classList.toggle("pb-status-error", alert);
};

const header = () => {
    const values = {};
    for (const input of form.querySelectorAll(".pb-header [name]")) {
        values[input.name] = input.value;
    }
    return values;
};

const showCheck = (answer) => {
    rows.applyCheck(answer.rows);
    const wrong = answer.rows.filter((row) => row.errors).length;
    totals.textContent = rows.rows.length
        ? [answer.totals, wrong ? fmt(strings.not_counted, { n: wrong }) : ""].join(" ").trim()
        : "";
    warnings.replaceChildren(
        ...answer.warnings.map((text) => {
            const p = document.createElement("p");
            p.className = "rehabit-warning";
            p.textContent = text;
            return p;
        }),
    );
};

const check = async () => {
    const sequence = ++checkSequence;
    const { data: answer } = await postJSON(data.urls.check, { patient: data.patient, rows: rows.serialise() }, strings);
    if (sequence !== checkSequence) {
        return;
    }
    if (!answer.ok) {
        say(answer.message || strings.failed, true);
        return;
    }
    showCheck(answer);
};
const checkSoon = debounce(check, 250);

const changed = () => {
    dirty = true;
    checkSoon();
};

const rows = new PlanRows({ strings, onChange: changed, variant: (id) => library.card(id) });

const library = new Library({
    url: data.urls.library,
    patient: data.patient,
    strings,
    onAdd: (card) => {
        if (rows.rows.length >= data.max_exercises) {
            say(fmt(strings.full, { n: data.max_exercises }), true);
            return;
        }
        rows.add(card);
    },
});

for (const row of data.rows) {
    rows.add(row.exercise, row, row.id, { quiet: true });
}

// Protocols: start the plan from one (its title, goals and notes too), or add its exercises.
const protocol = async (replace) => {
    const select = document.getElementById("pb-protocol");
    if (!select.value) {
        say(strings.choose_protocol, true);
        select.focus();
        return;
    }
    const url = data.urls.protocol.replace(/0\/$/, `${select.value}/?patient=${data.patient}`);
    const { data: answer } = await getJSON(url, strings);
    if (!answer.rows) {
        say(answer.message || strings.failed, true);
        return;
    }
    if (replace) {
        if (rows.rows.length && !window.confirm(fmt(strings.replace_rows, { n: rows.rows.length }))) {
            return;
        }
        rows.clear();
        for (const name of ["title", "condition", "goals", "notes_for_patient"]) {
            const input = form.querySelector(`.pb-header [name="${name}"]`);
            if (input && answer.plan[name] && (!input.value || name === "title")) {
                input.value = answer.plan[name];
            }
        }
        template = answer.id;
        if (answer.plan.goals || answer.plan.notes_for_patient) {
            form.querySelector(".pb-more").open = true;
        }
    }
    const room = data.max_exercises - rows.rows.length;
    for (const row of answer.rows.slice(0, Math.max(room, 0))) {
        rows.add(row.exercise, row, null, { quiet: true });
    }
    if (answer.rows.length > room) {
        say(fmt(strings.full, { n: data.max_exercises }), true);
    } else {
        say(fmt(strings.protocol_added, { name: answer.name, n: answer.rows.length }));
    }
    changed();
};
document.getElementById("pb-protocol-start").addEventListener("click", () => protocol(true));
document.getElementById("pb-protocol-add").addEventListener("click", () => protocol(false));
form.querySelector(".pb-header").addEventListener("input", () => {
    dirty = true;
});

// The handout's first exercise page, drawn by the server from what is on screen.
document.getElementById("pb-preview-button").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    say(strings.preparing);
    const { data: answer } = await postJSON(
        data.urls.preview,
        { patient: data.patient, plan: header(), rows: rows.serialise() },
        strings,
    );
    button.disabled = false;
    if (!answer.ok) {
        say(answer.message || strings.failed, true);
        return;
    }
    const figure = document.getElementById("pb-preview");
    document.getElementById("pb-preview-img").src = answer.picture;
    figure.hidden = false;
    say(strings.preview_ready);
    figure.scrollIntoView({ block: "nearest" });
});

form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = document.getElementById("pb-save");
    save.disabled = true;
    say(strings.saving);
    const { status: code, data: answer } = await postJSON(
        data.urls.save,
        {
            patient: data.patient,
            revision: data.plan.revision,
            template,
            plan: header(),
            rows: rows.serialise(),
        },
        strings,
    );
    save.disabled = false;
    for (const list of form.querySelectorAll(".pb-header [data-errors-for]")) {
        const messages = (answer.plan_errors || {})[list.dataset.errorsFor];
        showErrors(list, messages);
        if (messages && list.closest("details")) {
            list.closest("details").open = true;
        }
    }
    if (answer.ok) {
        dirty = false;
        say(strings.saved);
        window.location.assign(answer.handover);
        return;
    }
    say(answer.message || strings.failed, true);
    rows.showSaveErrors(answer.row_errors || {});
    if (code === 400 && answer.plan_errors && Object.keys(answer.plan_errors).length) {
        form.querySelector(`.pb-header [name="${Object.keys(answer.plan_errors)[0]}"]`)?.focus();
    }
});

window.addEventListener("beforeunload", (event) => {
    if (dirty) {
        event.preventDefault();
    }
});

library.render(data.library);
if (rows.rows.length) {
    showCheck(data.check);
}
document.body.classList.add("pb-ready");
