// callward console: a little progressive help; every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // Put the keyboard where the work is: the first field with an error, else
  // the page's first empty field marked autofocus by the server.
  const error = document.getElementById('error');
  if (error) {
    const field = document.querySelector('main input:not([type=hidden])');
    if (field) field.focus();
  }
  // A code field accepts digits only as the person types (the server checks anyway).
  for (const input of document.querySelectorAll('input[inputmode=numeric]')) {
    input.addEventListener('input', () => { input.value = input.value.replace(/\D/g, '').slice(0, 6); });
  }
});
