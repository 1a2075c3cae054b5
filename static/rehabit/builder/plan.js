// The plan's rows: dosage fields, read-back, reorder by drag and keyboard, swap, remove.
import { fmt, showErrors } from "./api.js";

const NUMBERS = ["sets", "reps", "hold_seconds", "duration_minutes", "rest_seconds", "times_per_day", "days_per_week"];
const TEXTS = ["side", "load", "tempo", "instructions"];
// Swapping keeps how often the patient does it and the therapist's own words.
const KEPT_ON_SWAP = ["times_per_day", "days_per_week", "instructions"];

let serial = 0;

export class PlanRows {
    constructor({ strings, onChange, variant, onDecide }) {
        this.strings = strings;
        this.onChange = onChange;
        this.variant = variant;
        this.onDecide = onDecide;
        this.suggestions = {};
        this.rows = [];
        this.list = document.getElementById("pb-rows");
        this.template = document.getElementById("pb-row-template");
        this.empty = document.getElementById("pb-empty");
        this.status = document.getElementById("pb-status");
        this.list.addEventListener("dragover", (event) => this.dragOver(event));
        this.list.addEventListener("drop", (event) => {
            event.preventDefault();
            this.dropped();
        });
    }

    announce(text) {
        this.status.textContent = text;
    }

    add(card, values = null, id = null, { quiet = false } = {}) {
        const row = { key: ++serial, id, exercise: card, values: {} };
        const start = values || { ...card.dosage, load: "", tempo: "", instructions: "" };
        for (const name of [...NUMBERS, ...TEXTS]) {
            row.values[name] = start[name] ?? (TEXTS.includes(name) ? "" : null);
        }
        row.el = this.element(row);
        this.rows.push(row);
        this.list.append(row.el);
        this.refresh();
        if (!quiet) {
            this.announce(fmt(this.strings.added, { name: card.name, n: this.rows.length }));
            this.onChange();
        }
        return row;
    }

    clear() {
        this.rows = [];
        this.list.replaceChildren();
        this.refresh();
    }

    element(row) {
        const el = this.template.content.firstElementChild.cloneNode(true);
        el.dataset.key = row.key;
        for (const input of el.querySelectorAll("[data-name]")) {
            const name = input.dataset.name;
            const id = `pb-row-${row.key}-${name}`;
            input.id = id;
            el.querySelector(`[data-label-for="${name}"]`).htmlFor = id;
            const errors = el.querySelector(`[data-errors-for="${name}"]`);
            errors.id = `${id}-errors`;
            input.setAttribute("aria-describedby", errors.id);
            const value = row.values[name];
            input.value = value === null || value === undefined ? "" : value;
            input.addEventListener("input", () => {
                row.values[name] = NUMBERS.includes(name)
                    ? input.value === "" ? null : Number(input.value)
                    : input.value;
                this.onChange();
            });
        }
        this.fillExercise(row, el);
        el.querySelector(".pb-remove").addEventListener("click", () => this.remove(row));
        el.querySelector(".pb-up").addEventListener("click", (e) => this.move(row, -1, e.currentTarget));
        el.querySelector(".pb-down").addEventListener("click", (e) => this.move(row, 1, e.currentTarget));
        el.querySelector(".pb-easier").addEventListener("click", () => this.swap(row, "easier"));
        el.querySelector(".pb-harder").addEventListener("click", () => this.swap(row, "harder"));
        el.querySelector(".pb-apply").addEventListener("click", (e) => this.onDecide(row, "apply", e.currentTarget));
        el.querySelector(".pb-dismiss").addEventListener("click", (e) => this.onDecide(row, "dismiss", e.currentTarget));
        const handle = el.querySelector(".pb-handle");
        handle.addEventListener("keydown", (event) => {
            if (event.key === "ArrowUp" || event.key === "ArrowDown") {
                event.preventDefault();
                this.move(row, event.key === "ArrowUp" ? -1 : 1, handle);
            }
        });
        handle.addEventListener("dragstart", (event) => {
            this.dragging = row;
            el.classList.add("pb-dragging");
            event.dataTransfer.effectAllowed = "move";
            event.dataTransfer.setData("text/plain", row.exercise.name);
            event.dataTransfer.setDragImage(el, 20, 20);
        });
        handle.addEventListener("dragend", () => this.dropped());
        return el;
    }

    fillExercise(row, el = row.el) {
        const card = row.exercise;
        for (const span of el.querySelectorAll(".pb-suggestion-for")) {
            span.textContent = ` ${card.name}`;
        }
        el.querySelector(".pb-row-img").src = card.picture;
        el.querySelector(".pb-row-name").textContent = card.name;
        el.querySelector(".pb-row-meta").textContent = `${card.category} · ${card.body_region}`;
        el.querySelector(".pb-handle-label").textContent = fmt(this.strings.move, { name: card.name });
        for (const [direction, missing] of [["easier", "no_easier"], ["harder", "no_harder"]]) {
            const button = el.querySelector(`.pb-${direction}`);
            button.disabled = !card[direction];
            button.title = card[direction] ? "" : this.strings[missing];
        }
    }

    remove(row) {
        const index = this.rows.indexOf(row);
        this.rows.splice(index, 1);
        row.el.remove();
        this.refresh();
        this.announce(fmt(this.strings.removed, { name: row.exercise.name }));
        const next = this.rows[Math.min(index, this.rows.length - 1)];
        (next ? next.el.querySelector(".pb-remove") : document.getElementById("pb-q")).focus();
        this.onChange();
    }

    move(row, delta, focus) {
        const index = this.rows.indexOf(row);
        const target = index + delta;
        if (target < 0 || target >= this.rows.length) {
            return;
        }
        this.rows.splice(index, 1);
        this.rows.splice(target, 0, row);
        this.placeAll();
        focus.focus();
        this.announce(fmt(this.strings.moved, { name: row.exercise.name, n: target + 1 }));
        this.onChange();
    }

    placeAll() {
        this.list.append(...this.rows.map((row) => row.el));
        this.refresh();
    }

    dragOver(event) {
        if (!this.dragging) {
            return;
        }
        event.preventDefault();
        const over = event.target.closest(".pb-row");
        if (!over || over === this.dragging.el) {
            return;
        }
        const rect = over.getBoundingClientRect();
        if (event.clientY < rect.top + rect.height / 2) {
            over.before(this.dragging.el);
        } else {
            over.after(this.dragging.el);
        }
    }

    dropped() {
        if (!this.dragging) {
            return;
        }
        const row = this.dragging;
        this.dragging = null;
        row.el.classList.remove("pb-dragging");
        const order = Array.from(this.list.children).map((el) => Number(el.dataset.key));
        this.rows.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
        this.refresh();
        this.announce(fmt(this.strings.moved, { name: row.exercise.name, n: this.rows.indexOf(row) + 1 }));
        this.onChange();
    }

    async swap(row, direction) {
        const card = await this.variant(row.exercise[direction]);
        if (!card) {
            this.announce(this.strings[direction === "easier" ? "no_easier" : "no_harder"]);
            return;
        }
        const kept = Object.fromEntries(KEPT_ON_SWAP.map((name) => [name, row.values[name]]));
        const values = { ...card.dosage, load: "", tempo: "", ...kept };
        const before = row.exercise.name;
        row.exercise = card;
        row.id = null; // A new row: logs of the old exercise stay with it.
        for (const input of row.el.querySelectorAll("[data-name]")) {
            const value = values[input.dataset.name];
            row.values[input.dataset.name] = value ?? (TEXTS.includes(input.dataset.name) ? "" : null);
            input.value = value === null || value === undefined ? "" : value;
        }
        this.fillExercise(row);
        this.showSuggestion(row);
        this.announce(fmt(this.strings.swapped, { old: before, name: card.name }));
        row.el.querySelector(`.pb-${direction}`).focus();
        this.onChange();
    }

    // Dose suggestions of the saved plan, by item id: shown on the rows still holding that item.
    setSuggestions(suggestions) {
        this.suggestions = suggestions || {};
        for (const row of this.rows) {
            this.showSuggestion(row);
        }
    }

    showSuggestion(row) {
        const box = row.el.querySelector(".pb-suggestion");
        const suggestion = row.id ? this.suggestions[String(row.id)] : null;
        box.hidden = !suggestion;
        if (!suggestion) {
            return;
        }
        box.className = `pb-suggestion pb-suggestion-${suggestion.kind}`;
        box.querySelector(".pb-suggestion-kind").textContent = suggestion.label;
        box.querySelector(".pb-suggestion-change").textContent = suggestion.change ? `: ${suggestion.change}` : "";
        box.querySelector(".pb-suggestion-reasons").textContent = suggestion.reasons
            ? `${this.strings.because} ${suggestion.reasons}.`
            : "";
        box.querySelector(".pb-suggestion-actions").hidden = !suggestion.actionable;
        row.signature = suggestion.signature;
    }

    // A suggestion applied on the server: the row takes the saved item's new exercise and dose.
    applied(saved) {
        const row = this.rows.find((candidate) => candidate.id === saved.id);
        if (!row) {
            return;
        }
        row.exercise = saved.exercise;
        for (const name of ["sets", "reps", "hold_seconds", "duration_minutes"]) {
            row.values[name] = saved[name];
            const input = row.el.querySelector(`[data-name="${name}"]`);
            input.value = saved[name] === null || saved[name] === undefined ? "" : saved[name];
        }
        this.fillExercise(row);
    }

    refresh() {
        this.empty.hidden = this.rows.length > 0;
        this.rows.forEach((row, index) => {
            row.el.querySelector(".pb-up").disabled = index === 0;
            row.el.querySelector(".pb-down").disabled = index === this.rows.length - 1;
            row.el.querySelector(".pb-row-name").dataset.number = `${index + 1}.`;
        });
    }

    serialise() {
        return this.rows.map((row) => ({ id: row.id, exercise: row.exercise.id, ...row.values }));
    }

    // The server's read-back and checks, row by row (same order as sent).
    applyCheck(rows) {
        rows.forEach((result, index) => {
            const row = this.rows[index];
            if (!row) {
                return;
            }
            const readback = row.el.querySelector(".pb-readback");
            readback.textContent = result.text
                ? fmt(this.strings.readback, { text: result.text, minutes: result.minutes })
                : "";
            this.showRowErrors(row, result.errors || {});
        });
    }

    showRowErrors(row, errors) {
        for (const list of row.el.querySelectorAll("[data-errors-for]")) {
            const name = list.dataset.errorsFor;
            showErrors(list, errors[name]);
            const input = row.el.querySelector(`[data-name="${name}"]`);
            if (input) {
                input.setAttribute("aria-invalid", errors[name] ? "true" : "false");
            }
        }
        row.el.classList.toggle("pb-invalid", Object.keys(errors).length > 0);
    }

    showSaveErrors(rowErrors) {
        this.rows.forEach((row, index) => this.showRowErrors(row, rowErrors[String(index)] || {}));
        const first = this.list.querySelector("[aria-invalid=true]");
        if (first) {
            first.focus();
        }
    }
}
